import fc from 'fast-check';
import { Axios, type AxiosRequestConfig } from 'axios';
import { requestOrigin, requestUrl } from '@axios-resilience/core';

/** The URL the long way, with nothing cached: axios's own `getUri` on an instance with no defaults. */
function uncachedUrl(config: AxiosRequestConfig): string {
  return new Axios({}).getUri(config);
}

/** The origin the long way: the full URL exactly as axios builds it, then parsed. */
function fullOrigin(config: AxiosRequestConfig): string {
  try {
    return new URL(uncachedUrl(config)).origin;
  } catch {
    return 'unknown';
  }
}

const scheme = fc.constantFrom('http', 'https', 'HTTPS', 'ftp', 'mailto', '');
const host = fc.constantFrom('api.example.com', 'API.Example.COM', '127.0.0.1', '[::1]', 'xn--bcher-kva.example', '');
const port = fc.constantFrom('', ':443', ':80', ':8443', ':0', ':99999');
const userinfo = fc.constantFrom('', 'user:secret@', 'a@b@');
const tail = fc.constantFrom('', '/', '/v1', '/v1/', '?q=1', '#frag', '\\@evil.example/', '/x?y#z', '/a\tb', ':x/y');
const absolute = fc
  .tuple(
    fc.constantFrom('', ' ', '\t'),
    scheme,
    fc.constantFrom('://', ':/', '//', ':', ':///'),
    userinfo,
    host,
    port,
    tail,
  )
  .map((parts) => parts.join(''));
const relative = fc.constantFrom(
  '/charges',
  'charges',
  '',
  '//cdn.example.com/x',
  'mailto:x',
  '?a=1',
  '#f',
  '/a/../b',
  ' /x',
  '\\evil.example/x',
  'a\tb:c/d',
  'v1/charges:search',
);

/** What a call returned or threw, so a throw can be compared too. */
function outcome(build: () => string): string {
  try {
    return `url ${build()}`;
  } catch (error) {
    return `threw ${(error as Error).message}`;
  }
}

describe('requestUrl', () => {
  it('builds the URL axios builds, the first time and from its cache (property)', () => {
    fc.assert(
      fc.property(
        fc.option(fc.oneof(absolute, relative), { nil: undefined }),
        fc.oneof(absolute, relative, fc.constant(undefined)),
        fc.constantFrom(undefined, true, false),
        fc.option(fc.dictionary(fc.constantFrom('a', 'b'), fc.string()), { nil: undefined }),
        (baseURL, url, allowAbsoluteUrls, params) => {
          const config: AxiosRequestConfig = { baseURL, url, allowAbsoluteUrls, params };
          const expected = outcome(() => uncachedUrl(config));
          expect(outcome(() => requestUrl(config))).toBe(expected);
          expect(outcome(() => requestUrl({ ...config }))).toBe(expected);
        },
      ),
      { numRuns: 10_000 },
    );
  });

  it('tells apart a base and path that would run together the same way', () => {
    expect(requestUrl({ baseURL: 'https://a.example/x', url: 'y' })).toBe('https://a.example/x/y');
    expect(requestUrl({ baseURL: 'https://a.example/', url: 'xy' })).toBe('https://a.example/xy');
    expect(requestUrl({ baseURL: 'https://a.example', url: '/p', allowAbsoluteUrls: false })).toBe(
      'https://a.example/p',
    );
    expect(requestUrl({ url: 'https://a.example/p' })).toBe('https://a.example/p');
    expect(requestUrl({ baseURL: 'https://a.example', url: '/p', params: { q: 1 } })).toBe('https://a.example/p?q=1');
    expect(requestUrl({ baseURL: 'https://a.example', url: '/p' })).toBe('https://a.example/p');
  });

  it('answers right for more paths than it keeps (600 against a bound of 256)', () => {
    for (let index = 0; index < 600; index++) {
      expect(requestUrl({ baseURL: 'https://a.example', url: `/orders/${index}` })).toBe(
        `https://a.example/orders/${index}`,
      );
    }
    expect(requestUrl({ baseURL: 'https://a.example', url: '/orders/3' })).toBe('https://a.example/orders/3');
  });
});

describe('requestOrigin', () => {
  it('gives the origin axios will connect to: the usual shapes and the edge cases', () => {
    expect(requestOrigin({ baseURL: 'https://api.example.com:8443/v1', url: '/x' })).toBe(
      'https://api.example.com:8443',
    );
    expect(requestOrigin({ baseURL: 'https://a.example', url: 'https://b.example/x' })).toBe('https://b.example');
    expect(requestOrigin({ baseURL: 'https://a.example', url: 'https://b.example/x', allowAbsoluteUrls: false })).toBe(
      'https://a.example',
    );
    expect(requestOrigin({ url: 'HTTPS://B.Example:443/x' })).toBe('https://b.example');
    expect(requestOrigin({ url: '/relative' })).toBe('unknown');
    expect(requestOrigin({ baseURL: 'https://user:secret@a.example' })).toBe('https://a.example');
  });

  it('agrees with parsing the full URL for any baseURL, url and allowAbsoluteUrls (property)', () => {
    fc.assert(
      fc.property(
        fc.option(absolute, { nil: undefined }),
        fc.oneof(absolute, relative, fc.constant(undefined)),
        fc.constantFrom(undefined, true, false),
        fc.option(fc.dictionary(fc.constantFrom('a', 'b'), fc.string()), { nil: undefined }),
        (baseURL, url, allowAbsoluteUrls, params) => {
          const config: AxiosRequestConfig = { baseURL, url, allowAbsoluteUrls, params };
          let expected: string;
          try {
            expected = fullOrigin(config);
          } catch {
            expected = 'unknown';
          }
          expect(requestOrigin(config)).toBe(expected);
          // Asked again, the answer comes from the cache and must not change.
          expect(requestOrigin(config)).toBe(expected);
        },
      ),
      { numRuns: 10_000 },
    );
  });

  it('answers a run of requests under a few baseURLs as parsing would, whatever was asked before (property)', () => {
    // Few baseURLs, so a path under the one asked last (answered from the last baseURL's origin) comes up
    // often, between requests of every other shape.
    const fewBases = fc.constantFrom(
      'https://api.example.com/v1',
      'https://API.example.com:443',
      'http://127.0.0.1:8080/',
      'http:',
      'https:/x',
      'ftp://files.example',
      '/relative-base',
      '',
      undefined,
    );
    const fewUrls = fc.oneof(relative, fc.constantFrom('/', '/\\evil.example', '//x.example/y', '/a//b'), absolute);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fewBases, fc.option(fewUrls, { nil: undefined }), fc.constantFrom(undefined, true, false)), {
          minLength: 1,
          maxLength: 30,
        }),
        (requests) => {
          for (const [baseURL, url, allowAbsoluteUrls] of requests) {
            const config: AxiosRequestConfig = { baseURL, url, allowAbsoluteUrls };
            expect(requestOrigin(config)).toBe(fullOrigin(config));
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
