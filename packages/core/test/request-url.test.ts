import fc from 'fast-check';
import type { AxiosRequestConfig } from 'axios';
import { requestOrigin, requestUrl } from '@axios-resilience/core';

/** The origin the long way: the full URL exactly as axios builds it, then parsed. */
function fullOrigin(config: AxiosRequestConfig): string {
  try {
    return new URL(requestUrl(config)).origin;
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
});
