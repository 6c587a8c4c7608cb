import axios from 'axios';
import { attachedLayers } from '@axios-resilience/core';
import {
  attachRateLimit,
  createRateLimitInterceptors,
  DEFAULT_RATE_LIMIT_OPTIONS,
  memoryLimiter,
  resolveRateLimitOptions,
  upstashLimiter,
  type RateLimiter,
} from '@axios-resilience/ratelimit';
import { stubAdapter } from '@axios-resilience/testkit';

const limiter = memoryLimiter({ limit: 1, intervalMs: 1000 });

describe('resolveRateLimitOptions', () => {
  it('fills the documented defaults', () => {
    const resolved = resolveRateLimitOptions({ limiter });
    expect(resolved).toMatchObject({ limiter, maxWaitMs: 60_000, maxQueue: undefined, learn: true });
    expect(resolved.key).toBe(DEFAULT_RATE_LIMIT_OPTIONS.key);
    expect(resolved.key({ baseURL: 'https://api.example.test:8443/v1', url: '/charges?x=1' })).toBe(
      'https://api.example.test:8443',
    );
  });

  it.each([
    [undefined, /rateLimit: expected an object, got undefined/],
    [{}, /rateLimit\.limiter: expected a rate limiter .*got undefined/],
    [{ limiter: {} }, /rateLimit\.limiter: expected a rate limiter/],
    [{ limiter, maxWaitMs: -1 }, /rateLimit\.maxWaitMs: expected a finite number >= 0, got -1/],
    [{ limiter, maxWaitMs: Infinity }, /rateLimit\.maxWaitMs: expected a finite number >= 0, got Infinity/],
    [{ limiter, maxQueue: 1.5 }, /rateLimit\.maxQueue: expected a non-negative integer, got 1.5/],
    [{ limiter, key: 'origin' }, /rateLimit\.key: expected a function, got "origin"/],
    [{ limiter, learn: 'yes' }, /rateLimit\.learn: expected a boolean, got "yes"/],
    [{ limiter, maxWait: 5 }, /rateLimit\.maxWait: unknown option/],
  ])('rejects %p', (options, message) => {
    expect(() => resolveRateLimitOptions(options as never)).toThrow(TypeError);
    expect(() => resolveRateLimitOptions(options as never)).toThrow(message);
  });

  it('attachRateLimit validates at attach time', () => {
    expect(() => attachRateLimit(axios.create(), { limiter, maxQueue: -1 })).toThrow(/rateLimit\.maxQueue/);
  });
});

describe('memoryLimiter options', () => {
  it('fills the documented defaults', () => {
    expect(memoryLimiter({ limit: 5, intervalMs: 1000 }).options).toMatchObject({
      limit: 5,
      intervalMs: 1000,
      algorithm: 'sliding-log',
      burst: 5,
      marginMs: 5,
      stampAt: 'response',
      maxHoldMs: 60_000,
    });
    expect(memoryLimiter({ limit: 5, intervalMs: 1000, stampAt: 'send' }).options.marginMs).toBe(25);
    expect(memoryLimiter({ limit: 5, intervalMs: 1000, marginMs: 0 }).options.marginMs).toBe(0);
  });

  it.each([
    [{ intervalMs: 1000 }, /memoryLimiter\.limit: expected a positive integer, got undefined/],
    [{ limit: 0, intervalMs: 1000 }, /memoryLimiter\.limit: expected a positive integer, got 0/],
    [{ limit: 5 }, /memoryLimiter\.intervalMs: expected a finite number > 0, got undefined/],
    [
      { limit: 5, intervalMs: 1000, algorithm: 'leaky' },
      /memoryLimiter\.algorithm: expected one of 'sliding-log', 'token-bucket', 'fixed-window', got "leaky"/,
    ],
    [
      { limit: 5, intervalMs: 1000, burst: 10 },
      /memoryLimiter\.burst: expected no value unless algorithm is 'token-bucket', got 10/,
    ],
    [
      { limit: 5, intervalMs: 1000, algorithm: 'token-bucket', burst: 0 },
      /memoryLimiter\.burst: expected a positive integer, got 0/,
    ],
    [{ limit: 5, intervalMs: 1000, marginMs: -1 }, /memoryLimiter\.marginMs/],
    [{ limit: 5, intervalMs: 1000, stampAt: 'grant' }, /memoryLimiter\.stampAt: expected one of 'response', 'send'/],
    [{ limit: 5, intervalMs: 1000, clock: { now: () => 0 } }, /memoryLimiter\.clock\.setTimeout: expected a function/],
    [{ limit: 5, interval: 1000 }, /memoryLimiter\.interval: unknown option/],
    [{ limit: 5, intervalMs: 1000, maxHoldMs: 0 }, /memoryLimiter\.maxHoldMs: expected a finite number > 0, got 0/],
  ])('rejects %p', (options, message) => {
    expect(() => memoryLimiter(options as never)).toThrow(message);
  });
});

describe('upstashLimiter options', () => {
  const ratelimit = { limit: async () => ({ success: true, limit: 1, remaining: 0, reset: 0 }) };
  const redis = { getex: async () => null, set: async (): Promise<string> => 'OK' };
  const scripting = { ...redis, eval: async () => null, evalsha: async () => null };

  it('takes limit and intervalMs for its own fixed window, with marginMs defaulting to 25', () => {
    expect(
      upstashLimiter({ limit: 50, intervalMs: 1000, redis: scripting, storeFailure: 'open' }).options,
    ).toMatchObject({ ratelimit: undefined, limit: 50, intervalMs: 1000, marginMs: 25 });
    expect(upstashLimiter({ ratelimit, redis, storeFailure: 'open' }).options).toMatchObject({
      limit: undefined,
      intervalMs: undefined,
    });
  });

  it('needs a fallback for the default local policy, and nothing more for open or closed', () => {
    expect(() => upstashLimiter({ ratelimit, redis })).toThrow(
      /upstashLimiter\.fallback: expected a limiter to use while Redis is unreachable/,
    );
    expect(upstashLimiter({ ratelimit, redis, storeFailure: 'open' }).options).toMatchObject({
      storeFailure: 'open',
      prefix: 'axios-resilience:ratelimit',
      storeTimeoutMs: 5_000,
      storeRetryMs: 1_000,
    });
    expect(upstashLimiter({ ratelimit, redis, fallback: limiter }).options.storeFailure).toBe('local');
  });

  it.each([
    [{ redis }, /upstashLimiter\.ratelimit: expected a Ratelimit/],
    [{ ratelimit }, /upstashLimiter\.redis: expected a Redis client from @upstash\/redis/],
    [
      { ratelimit, redis: { get: async () => null, set: async (): Promise<string> => 'OK' } },
      /upstashLimiter\.redis: .*getex/,
    ],
    [
      { ratelimit, redis, storeFailure: 'retry' },
      /upstashLimiter\.storeFailure: expected one of 'local', 'open', 'closed'/,
    ],
    [{ ratelimit, redis, fallback: { acquire() {} } }, /upstashLimiter\.fallback: expected a rate limiter/],
    [{ ratelimit, redis, storeFailure: 'open', prefix: '' }, /upstashLimiter\.prefix: expected a non-empty string/],
    [{ ratelimit, redis, storeFailure: 'open', storeTimeoutMs: 0 }, /upstashLimiter\.storeTimeoutMs/],
    [
      { ratelimit, redis, storeFailure: 'open', onStoreError: true },
      /upstashLimiter\.onStoreError: expected a function/,
    ],
    [{ ratelimit, limit: 10, intervalMs: 1000, redis: scripting, storeFailure: 'open' }, /not both/],
    [{ limit: 10, redis: scripting, storeFailure: 'open' }, /upstashLimiter\.intervalMs: expected a positive integer/],
    [
      { intervalMs: 1000, redis: scripting, storeFailure: 'open' },
      /upstashLimiter\.limit: expected a positive integer/,
    ],
    [{ limit: 1.5, intervalMs: 1000, redis: scripting, storeFailure: 'open' }, /upstashLimiter\.limit/],
    [{ limit: 10, intervalMs: 0.5, redis: scripting, storeFailure: 'open' }, /upstashLimiter\.intervalMs/],
    [
      { limit: 10, intervalMs: 100, marginMs: 100, redis: scripting, storeFailure: 'open' },
      /upstashLimiter\.marginMs: expected less than intervalMs \(100\)/,
    ],
    [{ limit: 10, intervalMs: 100, marginMs: -1, redis: scripting, storeFailure: 'open' }, /upstashLimiter\.marginMs/],
    [
      { ratelimit, redis, marginMs: 10, storeFailure: 'open' },
      /upstashLimiter\.marginMs: expected undefined with a Ratelimit/,
    ],
    [{ limit: 10, intervalMs: 1000, redis, storeFailure: 'open' }, /upstashLimiter\.redis: .*eval\(\) and evalsha\(\)/],
  ])('rejects %p', (options, message) => {
    expect(() => upstashLimiter(options as never)).toThrow(message);
  });
});

describe('installation', () => {
  it('registers one rate-limit layer and ejects it', async () => {
    const adapter = stubAdapter(() => ({ status: 200 }));
    const api = axios.create({ adapter });
    const attachment = attachRateLimit(api, { limiter: memoryLimiter({ limit: 1, intervalMs: 60_000 }), maxWaitMs: 0 });
    expect(attachedLayers(api)).toEqual(['rate-limit']);
    await api.get('https://a.example.test/');
    await expect(api.get('https://a.example.test/')).rejects.toMatchObject({ code: 'ERR_RATE_LIMITED' });
    attachment.eject();
    attachment.eject();
    expect(attachedLayers(api)).toEqual([]);
    await expect(api.get('https://a.example.test/')).resolves.toMatchObject({ status: 200 });
  });

  it('createRateLimitInterceptors works when wired by hand', async () => {
    const adapter = stubAdapter(() => ({ status: 429, headers: { 'retry-after': '30' } }));
    const api = axios.create({ adapter });
    const shared = memoryLimiter({ limit: 10, intervalMs: 1000 });
    const interceptors = createRateLimitInterceptors({ limiter: shared, maxWaitMs: 0 });
    api.interceptors.request.use(...interceptors.request);
    api.interceptors.response.use(...interceptors.response);
    await expect(api.get('https://b.example.test/')).rejects.toMatchObject({ response: { status: 429 } });
    expect(shared.pausedUntil('https://b.example.test')).toBeGreaterThan(Date.now() + 29_000);
    await expect(api.get('https://b.example.test/')).rejects.toMatchObject({ code: 'ERR_RATE_LIMITED' });
    expect(adapter.calls).toHaveLength(1);
  });

  it('one limiter object serves several instances with one budget per key', async () => {
    const shared = memoryLimiter({ limit: 2, intervalMs: 60_000 });
    const instances = [axios.create(), axios.create(), axios.create()].map((api) => {
      api.defaults.adapter = stubAdapter(() => ({ status: 200 }));
      attachRateLimit(api, { limiter: shared, maxWaitMs: 0 });
      return api;
    });
    await instances[0].get('https://c.example.test/');
    await instances[1].get('https://c.example.test/');
    await expect(instances[2].get('https://c.example.test/')).rejects.toMatchObject({ code: 'ERR_RATE_LIMITED' });
    await expect(instances[2].get('https://d.example.test/')).resolves.toMatchObject({ status: 200 });
  });

  it('a custom limiter needs only acquire and pause; a throwing permit does not fail the request', async () => {
    const keys: string[] = [];
    const custom: RateLimiter = {
      async acquire(key) {
        keys.push(key);
        return {
          complete() {
            throw new Error('bookkeeping broke');
          },
        };
      },
      pause() {
        throw new Error('pause broke');
      },
    };
    const api = axios.create({
      adapter: stubAdapter(() => ({
        status: 200,
        headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1' },
      })),
    });
    attachRateLimit(api, { limiter: custom, key: (config) => `tenant:${config.headers?.['X-Tenant'] ?? 'none'}` });
    await expect(api.get('https://e.example.test/', { headers: { 'X-Tenant': 'acme' } })).resolves.toMatchObject({
      status: 200,
    });
    expect(keys).toEqual(['tenant:acme']);
  });
});
