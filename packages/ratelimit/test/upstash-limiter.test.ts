import axios from 'axios';
import { Ratelimit } from '@upstash/ratelimit';
import { Redis } from '@upstash/redis';
import { isRateLimitedError } from '@axios-resilience/core';
import { attachRateLimit, memoryLimiter, upstashLimiter, type StoreErrorState } from '@axios-resilience/ratelimit';
import {
  startTestServer,
  sendJson,
  type RedisServer,
  type TestServer,
  type UpstashBridge,
} from '@axios-resilience/testkit';
import { startUpstashStore, upstashClient, type UpstashStore } from './upstash-store';

let prefixCounter = 0;

function ratelimitFor(redis: Redis, limiter: ReturnType<typeof Ratelimit.fixedWindow>) {
  prefixCounter += 1;
  return new Ratelimit({ redis, limiter, prefix: `test-${prefixCounter}`, ephemeralCache: false });
}

describe('upstashLimiter against real Redis through the bridge', () => {
  let store: UpstashStore;
  let bridge: UpstashBridge;
  let target: TestServer;

  beforeAll(async () => {
    store = await startUpstashStore();
    bridge = store.bridge;
    target = await startTestServer();
  });
  afterAll(async () => {
    await target.close();
    await store.stop();
  });

  it('costs one bridge round trip per request in steady state: the pause read rides with the limit call', async () => {
    const redis = upstashClient(bridge);
    const limiter = upstashLimiter({
      ratelimit: ratelimitFor(redis, Ratelimit.fixedWindow(1000, '60 s')),
      redis,
      storeFailure: 'closed',
    });
    const client = axios.create({ baseURL: target.url });
    attachRateLimit(client, { limiter });
    await client.get('/warm-up'); // the first limit() teaches the bridge the script (EVALSHA, NOSCRIPT, EVAL)
    bridge.resetStats();
    for (let i = 0; i < 10; i += 1) await client.get(`/steady/${i}`);
    expect(bridge.stats).toMatchObject({ requests: 10, pipelineRequests: 10, singleRequests: 0, commands: 20 });
  });

  it('queues first in, first out and waits for the reset Redis reports', async () => {
    const redis = upstashClient(bridge);
    const ratelimit = ratelimitFor(redis, Ratelimit.fixedWindow(2, '1 s'));
    // Which window granted each token, as Redis saw it: a fixed window's reset is the end of its window.
    const grantedWindows: number[] = [];
    let refusals = 0;
    const observed = {
      limit: (identifier: string) =>
        ratelimit.limit(identifier).then((response) => {
          if (response.success) grantedWindows.push(response.reset);
          else refusals += 1;
          return response;
        }),
    };
    const limiter = upstashLimiter({ ratelimit: observed, redis, storeFailure: 'closed' });
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 6 }, (_, index) =>
        limiter.acquire('fifo', { maxWaitMs: 10_000 }).then(() => void order.push(index)),
      ),
    );
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
    expect(grantedWindows).toHaveLength(6);
    const windows = [...new Set(grantedWindows)];
    for (const window of windows)
      expect(grantedWindows.filter((other) => other === window).length).toBeLessThanOrEqual(2);
    expect(windows.length).toBeGreaterThanOrEqual(3);
    // Refused heads waited for the reset instead of asking again and again: one refusal per full window.
    expect(refusals).toBeLessThanOrEqual(windows.length);
  });

  it('an abort while waiting for the reset rejects at once; maxWaitMs rejects with ERR_RATE_LIMITED', async () => {
    const redis = upstashClient(bridge);
    const limiter = upstashLimiter({
      ratelimit: ratelimitFor(redis, Ratelimit.fixedWindow(1, '10 s')),
      redis,
      storeFailure: 'closed',
    });
    await limiter.acquire('abort', { maxWaitMs: 0 });
    const controller = new AbortController();
    const aborted = limiter
      .acquire('abort', { maxWaitMs: 10_000, signal: controller.signal })
      .catch((error: unknown) => error);
    const timedOut = limiter.acquire('abort', { maxWaitMs: 200 }).catch((error: unknown) => error);
    setTimeout(() => controller.abort(), 50);
    expect(axios.isCancel(await aborted)).toBe(true);
    expect(await timedOut).toMatchObject({ code: 'ERR_RATE_LIMITED', key: 'abort' });
    expect(limiter.waiting('abort')).toBe(0);
  });

  it('a learned pause goes to Redis, and another worker with its own client honours it', async () => {
    const clients = [upstashClient(bridge), upstashClient(bridge)];
    const workers = clients.map((redis) => {
      // Two clients on one budget, as two processes would have.
      const ratelimit = new Ratelimit({
        redis,
        limiter: Ratelimit.fixedWindow(100, '1 s'),
        prefix: 'shared-pause',
        ephemeralCache: false,
      });
      return upstashLimiter({ ratelimit, redis, storeFailure: 'closed', prefix: 'shared-pause' });
    });
    target.setHandler((request, response) =>
      request.url === '/limited' ? sendJson(response, 429, {}, { 'retry-after': '1' }) : sendJson(response, 200, {}),
    );
    const first = axios.create({ baseURL: target.url });
    attachRateLimit(first, { limiter: workers[0] });
    const second = axios.create({ baseURL: target.url });
    attachRateLimit(second, { limiter: workers[1] });
    await second.get('/before');
    await expect(first.get('/limited')).rejects.toMatchObject({ response: { status: 429 } });
    // The response does not wait for the pause write; wait until it is in Redis, as another process would.
    const pauseKey = `shared-pause:pause:${target.url}`;
    for (let tries = 0; (await clients[1].get(pauseKey)) === null; tries += 1) {
      if (tries > 100) throw new Error('the pause never reached Redis');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await second.get('/after');
    const limited = target.requests.find((request) => request.url === '/limited')!;
    const after = target.requests.find((request) => request.url === '/after')!;
    // The first worker paused until 1 s after it received the 429, so never before the server sent it + 1 s.
    expect(after.receivedAt - limited.receivedAt).toBeGreaterThanOrEqual(1000);
    target.setHandler((_request, response) => sendJson(response, 200, {}));
  });
});

describe('upstashLimiter when Redis stops mid-run', () => {
  let store: UpstashStore;
  let redisServer: RedisServer;
  let bridge: UpstashBridge;
  let target: TestServer;

  beforeEach(async () => {
    store = await startUpstashStore();
    ({ redisServer, bridge } = store);
    target = await startTestServer();
  });
  afterEach(async () => {
    await target.close();
    await store.stop();
  });

  function setup(storeFailure: 'local' | 'open' | 'closed') {
    const redis = upstashClient(bridge);
    const errors: StoreErrorState[] = [];
    const fallback = memoryLimiter({ limit: 5, intervalMs: 1000 });
    const limiter = upstashLimiter({
      ratelimit: ratelimitFor(redis, Ratelimit.fixedWindow(5, '1 s')),
      redis,
      storeFailure,
      fallback: storeFailure === 'local' ? fallback : undefined,
      onStoreError: (state) => void errors.push(state),
    });
    const client = axios.create({ baseURL: target.url });
    attachRateLimit(client, { limiter, maxWaitMs: 10_000 });
    return { client, errors, limiter };
  }

  it("'local': requests continue under the in-memory limit and onStoreError fires", async () => {
    const { client, errors, limiter } = setup('local');
    await client.get('/before');
    await redisServer.stop();
    const started = Date.now();
    const responses = await Promise.all(Array.from({ length: 12 }, (_, index) => client.get(`/during/${index}`)));
    expect(responses.every((response) => response.status === 200)).toBe(true);
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(errors[0]).toMatchObject({ key: target.url, operation: 'limit', policy: 'local', consecutiveFailures: 1 });
    expect(limiter.storeDown).toBe(true);
    // The fallback's 5 per second held: 12 requests needed at least two more windows.
    const arrivals = target.requests.filter((request) => request.url.startsWith('/during')).map((r) => r.receivedAt);
    for (const at of arrivals)
      expect(arrivals.filter((other) => other > at - 1000 && other <= at).length).toBeLessThanOrEqual(5);
    expect(Date.now() - started).toBeGreaterThan(2000);
  }, 20_000);

  it("'closed': requests reject with ERR_RATE_LIMITED carrying the store error as cause", async () => {
    const { client, errors } = setup('closed');
    await client.get('/before');
    await redisServer.stop();
    const results = await Promise.all(
      Array.from({ length: 3 }, () => client.get('/during').catch((error: unknown) => error)),
    );
    for (const error of results) {
      expect(isRateLimitedError(error)).toBe(true);
      expect(error).toMatchObject({ code: 'ERR_RATE_LIMITED', resilience: { reason: 'rate-limited' } });
      expect(String((error as Error).cause)).toMatch(/Redis unavailable/);
    }
    expect(target.requests.map((request) => request.url)).toEqual(['/before']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ operation: 'limit', policy: 'closed' });
  }, 20_000);

  it("'open': requests pass unlimited", async () => {
    const { client, errors } = setup('open');
    await client.get('/before');
    await redisServer.stop();
    const responses = await Promise.all(Array.from({ length: 12 }, () => client.get('/during')));
    expect(responses.every((response) => response.status === 200)).toBe(true);
    expect(target.requests).toHaveLength(13);
    expect(errors[0]).toMatchObject({ operation: 'limit', policy: 'open' });
  }, 20_000);

  it('a bridge that is gone entirely (connection refused) is a store failure too, and a pause write failure is reported', async () => {
    const { client, errors, limiter } = setup('closed');
    await client.get('/before');
    await bridge.close();
    await limiter.pause('somewhere', Date.now() + 1000);
    expect(errors[0]).toMatchObject({ operation: 'pause', key: 'somewhere' });
    const error = await client.get('/during').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'ERR_RATE_LIMITED' });
    expect((error as Error).cause).toBeDefined();
  }, 20_000);
});
