import {
  isSecretHeaderName,
  isSecretQueryName,
  redactHeaderMap,
  redactUrl,
  scrubSecrets,
  REDACTED_MARK,
} from '@axios-resilience/dlq';

describe('secret names', () => {
  it.each([
    'Authorization',
    'proxy-authorization',
    'Cookie',
    'Set-Cookie',
    'X-Api-Key',
    'x-auth-token',
    'X-Amz-Security-Token',
    'X-Client-Secret',
    'X-Password',
    'X-Hub-Signature-256',
    'apikey',
    'X-Credential',
    'auth',
  ])('%s is a secret header', (name) => {
    expect(isSecretHeaderName(name)).toBe(true);
  });

  it.each(['Idempotency-Key', 'Content-Type', 'Accept', 'X-Author', 'User-Agent', 'X-Request-Id', 'Keyboard'])(
    '%s is kept',
    (name) => {
      expect(isSecretHeaderName(name)).toBe(false);
    },
  );

  it.each([
    'api_key',
    'apiKey',
    'token',
    'access_token',
    'client_secret',
    'password',
    'passwd',
    'sig',
    'key',
    'X-Amz-Signature',
  ])('query parameter %s is a secret', (name) => {
    expect(isSecretQueryName(name)).toBe(true);
  });

  it.each(['author', 'currency', 'amount', 'keyword', 'page'])('query parameter %s is kept', (name) => {
    expect(isSecretQueryName(name)).toBe(false);
  });

  it('takes extra names and patterns, stateful flags included', () => {
    const global = /^x-tenant/gi;
    expect(isSecretHeaderName('X-Session', ['x-session'])).toBe(true);
    expect(isSecretHeaderName('X-Tenant-Id', [global])).toBe(true);
    expect(isSecretHeaderName('X-Tenant-Id', [global])).toBe(true);
    expect(isSecretQueryName('tenant', [/^ten/])).toBe(true);
  });
});

describe('redactHeaderMap', () => {
  it('removes secrets, lists them and collects their values for scrubbing', () => {
    const result = redactHeaderMap({
      authorization: 'Bearer sk_live_canary123',
      'idempotency-key': 'k-1',
      'content-type': 'application/json',
      cookie: 'session=abcdefghij',
    });
    expect(result.value).toEqual({ 'idempotency-key': 'k-1', 'content-type': 'application/json' });
    expect(result.removed).toEqual(['header:authorization', 'header:cookie']);
    expect(result.secrets).toEqual(
      expect.arrayContaining(['Bearer sk_live_canary123', 'sk_live_canary123', 'session=abcdefghij', 'abcdefghij']),
    );
  });
});

describe('redactUrl', () => {
  it('removes userinfo and secret parameters, keeping the others byte for byte', () => {
    const result = redactUrl(
      'https://user:p%40ss@api.test/v1/x?a=1%202&api_key=SECRET1&b=%E2%98%83&token=T0KEN99#frag',
    );
    expect(result.value).toBe('https://api.test/v1/x?a=1%202&b=%E2%98%83#frag');
    expect(result.removed).toEqual(['url:credentials', 'query:api_key', 'query:token']);
    expect(result.secrets).toEqual(expect.arrayContaining(['p%40ss', 'p@ss', 'SECRET1', 'T0KEN99']));
  });

  it('drops the question mark when no parameter is left', () => {
    expect(redactUrl('https://api.test/x?token=abc').value).toBe('https://api.test/x');
  });

  it('leaves a clean URL untouched, relative ones included', () => {
    for (const url of ['https://api.test/x?q=a+b&&c', '/relative/path?page=2', 'https://api.test']) {
      expect(redactUrl(url)).toEqual({ value: url, removed: [], secrets: [] });
    }
  });

  it('matches encoded parameter names and extra names', () => {
    expect(redactUrl('https://a.test/?api%5Fkey=1&tenant=2', ['tenant']).value).toBe('https://a.test/');
  });
});

describe('scrubSecrets', () => {
  it('replaces every occurrence, longest first, and leaves short values alone', () => {
    expect(scrubSecrets('x sk_live_canary123 y sk_live_canary123', ['sk_live_canary123', 'sk_live'])).toBe(
      `x ${REDACTED_MARK} y ${REDACTED_MARK}`,
    );
    expect(scrubSecrets('value true', ['true'])).toBe('value true');
  });
});
