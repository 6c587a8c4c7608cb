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
