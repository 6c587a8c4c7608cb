import axios, { Axios, type AxiosRequestConfig } from 'axios';
import { requestFingerprint } from '../src/request-fingerprint';

describe('requestFingerprint', () => {
  it.each<AxiosRequestConfig>([
    { url: '/charges', baseURL: 'https://api.test/v1' },
    { url: 'https://other.test/x', baseURL: 'https://api.test/v1' },
    { url: 'https://other.test/x', baseURL: 'https://api.test/v1', allowAbsoluteUrls: false },
    { url: '/charges', baseURL: 'https://api.test', params: { expand: ['customer', 'invoice'], limit: 3 } },
    { url: '/charges?x=1', baseURL: 'https://api.test', params: { y: 'a b' } },
    { url: '/charges', baseURL: 'https://api.test', params: { a: 1 }, paramsSerializer: () => 'custom=1' },
  ])('holds the URL axios builds for %j', (config) => {
    expect(requestFingerprint(config).url).toBe(new Axios({}).getUri(config));
  });

  it('builds the URL the request really goes to from a merged instance config', async () => {
    const instance = axios.create({ baseURL: 'https://api.test/v1', params: { account: 'acct_1' } });
    let seen: string | undefined;
    instance.interceptors.request.use((config) => {
      seen = requestFingerprint(config).url;
      throw new Error('stop before sending');
    });
    await expect(instance.post('/charges', {}, { params: { expand: 'customer' } })).rejects.toThrow('stop');
    expect(seen).toBe('https://api.test/v1/charges?account=acct_1&expand=customer');
  });

  it('upper-cases the method and digests the body', () => {
    const fingerprint = requestFingerprint({ method: 'post', url: 'https://api.test/charges', data: { amount: 1 } });
    expect(fingerprint.method).toBe('POST');
    expect(fingerprint.body).toMatch(/^text:[0-9a-f]{16}$/);
  });
});
