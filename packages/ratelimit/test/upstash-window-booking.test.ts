import { createHash } from 'node:crypto';
import axios from 'axios';
import { attachRateLimit, upstashLimiter } from '@axios-resilience/ratelimit';
import { startTestServer, type TestServer, type UpstashBridge } from '@axios-resilience/testkit';
import { WINDOW_BOOKING_SCRIPT, WINDOW_BOOKING_SCRIPT_SHA1 } from '../src/window-booking-script';
import { countPerWindow, startUpstashStore, upstashClient, type UpstashStore } from './upstash-store';

let prefixCounter = 0;
function freshPrefix(): string {
  prefixCounter += 1;
  return `booking-${prefixCounter}`;
}

/** Waits until just after a window of `intervalMs` starts, so a test's burst does not straddle an edge by chance. */
async function startOfWindow(intervalMs: number): Promise<void> {
  const wait = intervalMs - (Date.now() % intervalMs) + 5;
  await new Promise((resolve) => setTimeout(resolve, wait));
}

it('the SHA-1 written next to the booking script is the SHA-1 of the script', () => {
  expect(createHash('sha1').update(WINDOW_BOOKING_SCRIPT).digest('hex')).toBe(WINDOW_BOOKING_SCRIPT_SHA1);
});

describe("upstashLimiter's own fixed window, against real Redis through the bridge", () => {
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
  beforeEach(() => target.requests.splice(0));

  it('books full windows ahead: no ask is refused, one round trip books a send for every request waiting', async () => {
    const redis = upstashClient(bridge);
    const limiter = upstashLimiter({ redis, limit: 5, intervalMs: 500, storeFailure: 'closed', prefix: freshPrefix() });
    const client = axios.create({ baseURL: target.url });
    attachRateLimit(client, { limiter, maxWaitMs: 10_000 });
    await startOfWindow(500);
    bridge.resetStats();
    await Promise.all(Array.from({ length: 12 }, (_, index) => client.get(`/burst/${index}`)));
    // The first request asks alone (the others join the line while its ask is out): 1 send. The next ask books
    // the 4 left in this window for the 11 waiting, then 5 in the next window and 2 in the one after. Nothing
    // refused, nothing asked twice.
    expect(bridge.stats.requests).toBe(4);
    expect(
      countPerWindow(
        target.requests.map((request) => request.receivedAt),
        500,
      ),
    ).toEqual([5, 5, 2]);
  });

  it('three workers sharing one budget: at most the limit per window, every round trip a grant', async () => {
    const prefix = freshPrefix();
    const clients = [0, 1, 2].map(() => {
      const client = axios.create({ baseURL: target.url });
      // One Redis client and one limiter per worker, as separate processes would have.
      const limiter = upstashLimiter({
        redis: upstashClient(bridge),
        limit: 10,
        intervalMs: 500,
        storeFailure: 'closed',
        prefix,
      });
      attachRateLimit(client, { limiter, maxWaitMs: 10_000 });
      return client;
    });
    await startOfWindow(500);
    bridge.resetStats();
    await Promise.all(
      clients.flatMap((client, worker) =>
        Array.from({ length: 15 }, (_, index) => client.post(`/shared/${worker}/${index}`, { index })),
      ),
    );
    const counts = countPerWindow(
      target.requests.map((request) => request.receivedAt),
      500,
    );
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(45);
    for (const count of counts) expect(count).toBeLessThanOrEqual(10);
    // Every window but the last is full: booking ahead wastes none of the budget.
    expect(counts.slice(0, -1)).toEqual(counts.slice(0, -1).map(() => 10));
    // Each ask books at least one send (none is refused), and most book several.
    expect(bridge.stats.commands).toBeLessThanOrEqual(45 / 2);
    expect(bridge.stats.commands).toBe(bridge.stats.requests);
  });

  it('a pause in Redis holds the key and books nothing; asks resume when it ends', async () => {
    const prefix = freshPrefix();
    const redis = upstashClient(bridge);
    const writer = upstashLimiter({ redis, limit: 100, intervalMs: 1000, storeFailure: 'closed', prefix });
    const reader = upstashLimiter({
      redis: upstashClient(bridge),
      limit: 100,
      intervalMs: 1000,
      storeFailure: 'closed',
      prefix,
    });
    const pausedUntil = Date.now() + 600;
    await writer.pause('api', pausedUntil);
    await reader.acquire('api', { maxWaitMs: 5_000 });
    expect(Date.now()).toBeGreaterThanOrEqual(pausedUntil);
    // The ask made during the pause booked nothing: the only booking is the one that was granted.
    expect(await redis.hget(`${prefix}:window:api`, 'used')).toBe(1);
  });

  it('a request that cannot wait for the next free window is refused and books nothing', async () => {
    const prefix = freshPrefix();
    const redis = upstashClient(bridge);
    const limiter = upstashLimiter({ redis, limit: 1, intervalMs: 2_000, storeFailure: 'closed', prefix });
    await startOfWindow(2_000);
    await limiter.acquire('short', { maxWaitMs: 1_000 });
    await expect(limiter.acquire('short', { maxWaitMs: 300 })).rejects.toMatchObject({ code: 'ERR_RATE_LIMITED' });
    const state = await redis.hmget<{ window: number; used: number }>(`${prefix}:window:short`, 'window', 'used');
    expect(state).toEqual({ window: Math.floor(Date.now() / 2_000), used: 1 });
    // The state outlives its last booked window by one window, then Redis drops it.
    const windowEnd = (Math.floor(Date.now() / 2_000) + 1) * 2_000;
    const ttl = await redis.pttl(`${prefix}:window:short`);
    expect(ttl).toBeGreaterThan(windowEnd - Date.now() + 2_000 - 100);
    expect(ttl).toBeLessThanOrEqual(windowEnd - Date.now() + 2_000 + 100);
  });

  it('after Redis forgets the script (SCRIPT FLUSH), the next ask sends its text again and is granted', async () => {
    const redis = upstashClient(bridge);
    const limiter = upstashLimiter({
      redis,
      limit: 50,
      intervalMs: 1_000,
      storeFailure: 'closed',
      prefix: freshPrefix(),
    });
    await limiter.acquire('flush', { maxWaitMs: 1_000 });
    await limiter.acquire('flush', { maxWaitMs: 1_000 });
    await redis.scriptFlush();
    bridge.resetStats();
    await limiter.acquire('flush', { maxWaitMs: 1_000 });
    // EVALSHA answered NOSCRIPT, then EVAL.
    expect(bridge.stats.commands).toBe(2);
    expect(limiter.storeDown).toBe(false);
  });

  it("Redis gone: 'closed' rejects with the store error as cause", async () => {
    const own = await startUpstashStore();
    try {
      const limiter = upstashLimiter({
        redis: upstashClient(own.bridge),
        limit: 10,
        intervalMs: 1_000,
        storeFailure: 'closed',
        storeTimeoutMs: 1_000,
      });
      await limiter.acquire('gone', { maxWaitMs: 1_000 });
      await own.redisServer.stop();
      const error = await limiter.acquire('gone', { maxWaitMs: 1_000 }).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'ERR_RATE_LIMITED' });
      expect((error as Error).cause).toBeDefined();
      expect(limiter.storeDown).toBe(true);
    } finally {
      await own.stop();
    }
  });
});
