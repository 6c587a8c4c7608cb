import axios from 'axios';
import {
  memoryLimiter,
  upstashLimiter,
  type StoreErrorState,
  type UpstashLimitResponse,
} from '@axios-resilience/ratelimit';

const START = Date.UTC(2030, 0, 1);

/** A scripted Ratelimit and Redis: each limit() answers the next scripted response (or throws it). */
function fakes(script: Array<Partial<UpstashLimitResponse> | Error>, pauseValue: unknown = null) {
  const calls = { limit: 0, getex: 0, set: [] as Array<[string, string, { px: number }]> };
  const ratelimit = {
    async limit() {
      const next = script[Math.min(calls.limit, script.length - 1)];
      calls.limit += 1;
      if (next instanceof Error) throw next;
      return { success: true, limit: 10, remaining: 9, reset: Date.now() + 1000, ...next };
    },
  };
  const redis = {
    async getex() {
      calls.getex += 1;
      return pauseValue;
    },
    async set(key: string, value: string, options: { px: number }) {
      calls.set.push([key, value, options]);
      return 'OK';
    },
  };
  return { ratelimit, redis, calls };
}

beforeEach(() => {
  jest.useFakeTimers({ now: START });
});
afterEach(() => {
  jest.useRealTimers();
});

describe('upstashLimiter decisions', () => {
  it('asks again when a token comes back after the window that granted it closed', async () => {
    const { ratelimit, redis, calls } = fakes([{ reset: START - 1 }, { reset: START + 1000 }]);
    const limiter = upstashLimiter({ ratelimit, redis, storeFailure: 'closed' });
    const granted = limiter.acquire('k', { maxWaitMs: 1000 });
    await jest.advanceTimersByTimeAsync(5);
    await granted;
    expect(calls.limit).toBe(2);
  });

  it("after the window's last token, waits for its reset without asking Redis", async () => {
    const { ratelimit, redis, calls } = fakes([{ remaining: 0, reset: START + 400 }, {}]);
    const limiter = upstashLimiter({ ratelimit, redis, storeFailure: 'closed' });
    await limiter.acquire('k', { maxWaitMs: 5000 });
    let grantedAt: number | undefined;
    void limiter.acquire('k', { maxWaitMs: 5000 }).then(() => (grantedAt = Date.now() - START));
    await jest.advanceTimersByTimeAsync(399);
    // The second request waited without a round trip that Redis would only have refused.
    expect(calls.limit).toBe(1);
    expect(grantedAt).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1);
    expect(calls.limit).toBe(2);
    expect(grantedAt).toBe(400);
  });

  it('a refused request waits for the reset Redis reported before asking again', async () => {
    const { ratelimit, redis, calls } = fakes([{ success: false, reset: START + 700 }, {}]);
    const limiter = upstashLimiter({ ratelimit, redis, storeFailure: 'closed' });
    let grantedAt: number | undefined;
    void limiter.acquire('k', { maxWaitMs: 5000 }).then(() => (grantedAt = Date.now() - START));
    await jest.advanceTimersByTimeAsync(699);
    expect(calls.limit).toBe(1);
    await jest.advanceTimersByTimeAsync(1);
    expect(grantedAt).toBe(700);
  });

  it('a pause found in Redis (as a number or a string) holds the key until it ends', async () => {
    for (const asString of [false, true]) {
      const begin = Date.now();
      const { ratelimit, redis } = fakes([{}], asString ? String(begin + 1500) : begin + 1500);
      const limiter = upstashLimiter({ ratelimit, redis, storeFailure: 'closed' });
      let grantedAt: number | undefined;
      void limiter.acquire('k', { maxWaitMs: 5000 }).then(() => (grantedAt = Date.now() - begin));
      await jest.advanceTimersByTimeAsync(1499);
      expect(grantedAt).toBeUndefined();
      // Redis expires the key with the pause (PX); the fake has to be told.
      redis.getex = async () => null;
      await jest.advanceTimersByTimeAsync(1);
      expect(grantedAt).toBe(1500);
    }
  });

  it('pause() writes <prefix>:pause:<key> with the epoch ms and a matching PX, and holds the key locally', async () => {
    const { ratelimit, redis, calls } = fakes([{}]);
    const limiter = upstashLimiter({ ratelimit, redis, storeFailure: 'closed', prefix: 'app' });
    await limiter.pause('https://api.example.test', START + 2500);
    expect(calls.set).toEqual([['app:pause:https://api.example.test', String(START + 2500), { px: 2500 }]]);
    await expect(limiter.acquire('https://api.example.test', { maxWaitMs: 0 })).rejects.toMatchObject({
      code: 'ERR_RATE_LIMITED',
    });
    expect(calls.limit).toBe(0);
  });

  it("treats the SDK's own timeout (success with reason 'timeout') as a store failure", async () => {
    const { ratelimit, redis } = fakes([{ success: true, reason: 'timeout' }]);
    const errors: StoreErrorState[] = [];
    const limiter = upstashLimiter({
      ratelimit,
      redis,
      storeFailure: 'closed',
      onStoreError: (state) => void errors.push(state),
    });
    await expect(limiter.acquire('k', { maxWaitMs: 0 })).rejects.toMatchObject({ code: 'ERR_RATE_LIMITED' });
    expect(String(errors[0].error)).toMatch(/reason "timeout"/);
  });

  it('a store call that never answers fails after storeTimeoutMs instead of hanging', async () => {
    const { redis } = fakes([{}]);
    const ratelimit = { limit: () => new Promise<UpstashLimitResponse>(() => {}) };
    const limiter = upstashLimiter({ ratelimit, redis, storeFailure: 'closed', storeTimeoutMs: 300 });
    const outcome = limiter.acquire('k', { maxWaitMs: 10_000 }).catch((error: unknown) => error);
    await jest.advanceTimersByTimeAsync(300);
    expect(await outcome).toMatchObject({
      code: 'ERR_RATE_LIMITED',
      cause: expect.objectContaining({ message: expect.stringMatching(/within 300 ms/) }),
    });
  });

  it('after a failure the policy applies for storeRetryMs without asking Redis, then Redis is asked again', async () => {
    const failure = new Error('fetch failed');
    const { ratelimit, redis, calls } = fakes([failure, failure, {}]);
    const errors: StoreErrorState[] = [];
    const limiter = upstashLimiter({
      ratelimit,
      redis,
      storeFailure: 'open',
      storeRetryMs: 1000,
      onStoreError: (state) => void errors.push(state),
    });
    for (let i = 0; i < 5; i += 1) await limiter.acquire('k', { maxWaitMs: 0 });
    expect(calls.limit).toBe(1);
    expect(limiter.storeDown).toBe(true);
    await jest.advanceTimersByTimeAsync(1000);
    await limiter.acquire('k', { maxWaitMs: 0 });
    expect(calls.limit).toBe(2);
    expect(errors.map((state) => state.consecutiveFailures)).toEqual([1, 2]);
    await jest.advanceTimersByTimeAsync(1000);
    await limiter.acquire('k', { maxWaitMs: 0 });
    expect(calls.limit).toBe(3);
    expect(limiter.storeDown).toBe(false);
  });

  it("'local' takes tokens from the fallback, within what is left of the request's wait", async () => {
    const { ratelimit, redis } = fakes([new Error('connection refused')]);
    const fallback = memoryLimiter({ limit: 1, intervalMs: 10_000 });
    const limiter = upstashLimiter({ ratelimit, redis, fallback });
    await limiter.acquire('k', { maxWaitMs: 0 });
    const second = limiter.acquire('k', { maxWaitMs: 500 }).catch((error: unknown) => error);
    await jest.advanceTimersByTimeAsync(500);
    expect(await second).toMatchObject({ code: 'ERR_RATE_LIMITED' });
    expect(fallback.waiting('k')).toBe(0);
  });

  it('an observer that throws changes nothing', async () => {
    const { ratelimit, redis } = fakes([new Error('down')]);
    const limiter = upstashLimiter({
      ratelimit,
      redis,
      storeFailure: 'open',
      onStoreError: () => {
        throw new Error('observer broke');
      },
    });
    await expect(limiter.acquire('k', { maxWaitMs: 0 })).resolves.toBeDefined();
  });
});

/** A scripted Redis for the window-booking limiter: each script call answers the next scripted reply. */
function bookingFakes(replies: Array<unknown[] | Error>) {
  const calls: Array<{ via: 'eval' | 'evalsha'; keys: string[]; args: unknown[] }> = [];
  const answer = (via: 'eval' | 'evalsha', keys: string[], args: unknown[]) => {
    const next = replies[Math.min(calls.length, replies.length - 1)];
    calls.push({ via, keys, args });
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  };
  const redis = {
    getex: async () => null,
    set: async () => 'OK',
    eval: (_script: string, keys: string[], args: unknown[]) => answer('eval', keys, args),
    evalsha: (_sha: string, keys: string[], args: unknown[]) => answer('evalsha', keys, args),
  };
  return { redis, calls };
}

describe('upstashLimiter with its own fixed window: decisions', () => {
  it('asks with the window, the margin, the head’s horizon, everyone waiting and its clock; text once, then SHA-1', async () => {
    const { redis, calls } = bookingFakes([[1, 1, 0, 800]]);
    const limiter = upstashLimiter({ redis, limit: 3, intervalMs: 1000, storeFailure: 'closed', prefix: 'app' });
    await limiter.acquire('k', { maxWaitMs: 5000 });
    // The first of these asks alone; the other five join the line while its ask is out.
    const waiting = Array.from({ length: 6 }, () => limiter.acquire('k', { maxWaitMs: 2000 }));
    await jest.advanceTimersByTimeAsync(0);
    await Promise.all(waiting);
    expect(calls[0]).toEqual({
      via: 'eval',
      keys: ['app:window:k', 'app:pause:k'],
      args: [3, 1000, 25, 5000, 1, START],
    });
    expect(calls[1]).toMatchObject({ via: 'evalsha', args: [3, 1000, 25, 2000, 1, START] });
    // The third ask came with five waiting: it asks for the limit, 3, not 5 (the fake answers one send each time).
    expect(calls.slice(2).map((call) => call.args[4])).toEqual([3, 3, 3, 2, 1]);
  });

  it('a booked window in the future holds its waiters until it starts, then serves them without asking', async () => {
    const { redis, calls } = bookingFakes([[1, 3, 400, 1400]]);
    const limiter = upstashLimiter({ redis, limit: 3, intervalMs: 1000, storeFailure: 'closed' });
    const grantedAt: number[] = [];
    const requests = Array.from({ length: 3 }, () =>
      limiter.acquire('k', { maxWaitMs: 5000 }).then(() => void grantedAt.push(Date.now() - START)),
    );
    await jest.advanceTimersByTimeAsync(399);
    expect(grantedAt).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    await Promise.all(requests);
    expect(grantedAt).toEqual([400, 400, 400]);
    // The first request asked alone; the other two joined while its ask was out and took the same booking.
    expect(calls).toHaveLength(1);
  });

  it('a booked send whose requester aborted goes to the next in line, with no new ask', async () => {
    const { redis, calls } = bookingFakes([[1, 1, 300, 1300]]);
    const limiter = upstashLimiter({ redis, limit: 5, intervalMs: 1000, storeFailure: 'closed' });
    const controller = new AbortController();
    const first = limiter.acquire('k', { maxWaitMs: 5000, signal: controller.signal }).catch((error: unknown) => error);
    await jest.advanceTimersByTimeAsync(0);
    const second = limiter.acquire('k', { maxWaitMs: 5000 });
    controller.abort();
    expect(axios.isCancel(await first)).toBe(true);
    await jest.advanceTimersByTimeAsync(300);
    await second;
    expect(calls).toHaveLength(1);
  });

  it('sends left over when their window has nearly ended lapse, and the next request asks again', async () => {
    const { redis, calls } = bookingFakes([
      [1, 2, 0, 500],
      [1, 1, 0, 1000],
    ]);
    const limiter = upstashLimiter({ redis, limit: 5, intervalMs: 1000, storeFailure: 'closed' });
    await limiter.acquire('k', { maxWaitMs: 0 });
    // One booked send is left, but only until 25 ms (the margin) before the window's end, 500 ms from the ask.
    await jest.advanceTimersByTimeAsync(474);
    await limiter.acquire('k', { maxWaitMs: 0 });
    expect(calls).toHaveLength(1);
    await limiter.acquire('k', { maxWaitMs: 0 });
    expect(calls).toHaveLength(2);
  });

  it('a pause in Redis holds the key until it ends; beyond the horizon the request waits out its own deadline', async () => {
    const { redis, calls } = bookingFakes([
      [0, START + 700],
      [1, 1, 0, 1000],
      [-1, 5000],
    ]);
    const limiter = upstashLimiter({ redis, limit: 5, intervalMs: 1000, storeFailure: 'closed' });
    let grantedAt: number | undefined;
    void limiter.acquire('k', { maxWaitMs: 5000 }).then(() => (grantedAt = Date.now() - START));
    await jest.advanceTimersByTimeAsync(699);
    expect(grantedAt).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1);
    expect(grantedAt).toBe(700);
    const late = limiter.acquire('k', { maxWaitMs: 1000 }).catch((error: unknown) => error);
    await jest.advanceTimersByTimeAsync(1000);
    expect(await late).toMatchObject({ code: 'ERR_RATE_LIMITED' });
    expect(calls).toHaveLength(3);
  });

  it('an answer it cannot read is a store failure: the policy applies and onStoreError hears of it', async () => {
    const { redis } = bookingFakes([['OK']]);
    const errors: StoreErrorState[] = [];
    const limiter = upstashLimiter({
      redis,
      limit: 5,
      intervalMs: 1000,
      storeFailure: 'closed',
      onStoreError: (state) => void errors.push(state),
    });
    await expect(limiter.acquire('k', { maxWaitMs: 0 })).rejects.toMatchObject({ code: 'ERR_RATE_LIMITED' });
    expect(String(errors[0].error)).toMatch(/answered something unexpected/);
  });
});
