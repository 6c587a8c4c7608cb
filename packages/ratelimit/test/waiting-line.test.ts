import axios from 'axios';
import { getFailureSummary, isRateLimitedError, registerLayer, REQUEST_STAGE } from '@axios-resilience/core';
import { attachRateLimit, memoryLimiter } from '@axios-resilience/ratelimit';
import { stubAdapter } from '@axios-resilience/testkit';
import { WaitLine } from '../src/wait-line';

const START = Date.UTC(2030, 0, 1);

beforeEach(() => {
  jest.useFakeTimers({ now: START });
});
afterEach(() => {
  jest.useRealTimers();
});

describe('the waiting line of a limiter', () => {
  it('serves waiters first in, first out', async () => {
    const limiter = memoryLimiter({ limit: 1, intervalMs: 100, stampAt: 'send', marginMs: 0 });
    const order: number[] = [];
    const all = Array.from({ length: 5 }, (_, index) =>
      limiter.acquire('k', { maxWaitMs: 10_000 }).then(() => order.push(index)),
    );
    await jest.advanceTimersByTimeAsync(1000);
    await Promise.all(all);
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });

  it('says it is empty exactly while no key has a line, which lets the limiter skip its lookups', async () => {
    let open = false;
    const line = new WaitLine<string>(
      {
        tryTake: () => (open ? { granted: true, permit: 'token' } : { granted: false, retryAt: Infinity }),
        discard: () => {},
      },
      { now: () => Date.now(), setTimeout, clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout) },
    );
    expect(line.empty).toBe(true);
    const controller = new AbortController();
    const first = line.acquire('a', { maxWaitMs: 10_000 });
    const second = line.acquire('b', { maxWaitMs: 10_000, signal: controller.signal });
    expect(line.empty).toBe(false);
    controller.abort();
    await expect(second).rejects.toMatchObject({ code: 'ERR_CANCELED' });
    // Key b's line is gone, key a's is not.
    expect(line.empty).toBe(false);
    open = true;
    line.wake('a');
    await expect(first).resolves.toBe('token');
    expect(line.empty).toBe(true);
  });

  it('wakes on time where long timers fire late in proportion to their length', async () => {
    // A machine whose timers overrun by 3 % of what they were set for, as some virtual machines do.
    const lateTimers = {
      now: () => Date.now(),
      setTimeout: (callback: () => void, ms: number) => setTimeout(callback, Math.round(ms * 1.03)),
      clearTimeout: (handle: unknown) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    };
    const limiter = memoryLimiter({ limit: 1, intervalMs: 1000, stampAt: 'send', marginMs: 0, clock: lateTimers });
    await limiter.acquire('k', { maxWaitMs: 0 });
    let grantedAt: number | undefined;
    void limiter.acquire('k', { maxWaitMs: 10_000 }).then(() => (grantedAt = Date.now() - START));
    await jest.advanceTimersByTimeAsync(999);
    expect(grantedAt).toBeUndefined();
    await jest.advanceTimersByTimeAsync(100);
    // One timer of 1,000 ms would have fired at 1,030: the long sleep ends in a short step, late by under 1 ms.
    expect(grantedAt).toBe(1001);
  });

  it('an abort while queued rejects at once with CanceledError and frees the place for the next', async () => {
    const limiter = memoryLimiter({ limit: 1, intervalMs: 1000, stampAt: 'send', marginMs: 0 });
    await limiter.acquire('k', { maxWaitMs: 0 });
    const controller = new AbortController();
    const leaving = limiter.acquire('k', { maxWaitMs: 10_000, signal: controller.signal, maxQueue: 1 });
    const leavingOutcome = leaving.then(
      () => 'granted',
      (error: unknown) => error,
    );
    // The line holds one and maxQueue is 1: a newcomer is turned away.
    await expect(limiter.acquire('k', { maxWaitMs: 10_000, maxQueue: 1 })).rejects.toMatchObject({
      code: 'ERR_RATE_LIMITED',
    });
    await jest.advanceTimersByTimeAsync(100);
    controller.abort();
    const outcome = await leavingOutcome;
    expect(axios.isCancel(outcome)).toBe(true);
    expect(Date.now() - START).toBe(100);
    expect(limiter.waiting('k')).toBe(0);
    // Its place is free: the next request queues and gets the token the aborted one would have had.
    let grantedAt: number | undefined;
    const next = limiter.acquire('k', { maxWaitMs: 10_000, maxQueue: 1 }).then(() => (grantedAt = Date.now() - START));
    await jest.advanceTimersByTimeAsync(1000);
    await next;
    expect(grantedAt).toBe(1000);
  });

  it('an already aborted signal rejects before queueing', async () => {
    const limiter = memoryLimiter({ limit: 1, intervalMs: 1000 });
    const controller = new AbortController();
    controller.abort();
    const error = await limiter
      .acquire('k', { maxWaitMs: 10, signal: controller.signal })
      .catch((caught: unknown) => caught);
    expect(axios.isCancel(error)).toBe(true);
  });

  it('maxWaitMs: a waiter that gets no token in time rejects with ERR_RATE_LIMITED, the others keep waiting', async () => {
    const limiter = memoryLimiter({ limit: 1, intervalMs: 1000, stampAt: 'send', marginMs: 0 });
    await limiter.acquire('k', { maxWaitMs: 0 });
    const impatient = limiter.acquire('k', { maxWaitMs: 300 }).catch((error: unknown) => error);
    const patient = limiter.acquire('k', { maxWaitMs: 5_000 }).then(() => Date.now() - START);
    await jest.advanceTimersByTimeAsync(300);
    const error = await impatient;
    expect(isRateLimitedError(error)).toBe(true);
    expect(error).toMatchObject({
      code: 'ERR_RATE_LIMITED',
      key: 'k',
      message: expect.stringMatching(/within 300 ms/),
    });
    await jest.advanceTimersByTimeAsync(1000);
    expect(await patient).toBe(1000);
  });

  it('maxWaitMs 0 takes a free token but never waits; maxQueue 0 never queues', async () => {
    const limiter = memoryLimiter({ limit: 1, intervalMs: 1000 });
    await expect(limiter.acquire('k', { maxWaitMs: 0 })).resolves.toBeDefined();
    await expect(limiter.acquire('k', { maxWaitMs: 0 })).rejects.toMatchObject({ code: 'ERR_RATE_LIMITED' });
    await expect(limiter.acquire('k', { maxWaitMs: 1000, maxQueue: 0 })).rejects.toMatchObject({
      code: 'ERR_RATE_LIMITED',
      message: expect.stringMatching(/maxQueue 0/),
    });
    expect(limiter.waiting('k')).toBe(0);
  });
});

describe('attachRateLimit: waiting through axios', () => {
  function instance(maxQueue?: number) {
    const adapter = stubAdapter(() => ({ status: 200, data: 'ok' }));
    const api = axios.create({ baseURL: 'https://api.example.test', adapter });
    const limiter = memoryLimiter({ limit: 1, intervalMs: 1000, stampAt: 'send' });
    attachRateLimit(api, { limiter, maxWaitMs: 2_000, maxQueue });
    return { api, adapter, limiter };
  }

  it('aborting config.signal while queued rejects at once with CanceledError and sends nothing', async () => {
    const { api, adapter } = instance();
    await api.get('/first');
    const controller = new AbortController();
    const queued = api.get('/second', { signal: controller.signal }).catch((error: unknown) => error);
    await jest.advanceTimersByTimeAsync(50);
    controller.abort();
    const error = await queued;
    expect(axios.isCancel(error)).toBe(true);
    expect(Date.now() - START).toBe(50);
    expect(adapter.calls).toHaveLength(1);
  });

  it("cancelling axios's CancelToken while queued rejects at once with its cancel, sends nothing and holds no token", async () => {
    const { api, adapter } = instance();
    await api.get('/first');
    const source = axios.CancelToken.source();
    const queued = api.get('/second', { cancelToken: source.token }).catch((error: unknown) => error);
    await jest.advanceTimersByTimeAsync(50);
    source.cancel('user left');
    await jest.advanceTimersByTimeAsync(0);
    const error = await queued;
    expect(axios.isCancel(error)).toBe(true);
    expect((error as Error).message).toBe('user left');
    expect(Date.now() - START).toBe(50);
    // The token it would have had goes to the next request, on time.
    const next = api.get('/third');
    await jest.advanceTimersByTimeAsync(1_000);
    await next;
    expect(adapter.calls.map((call) => call.url)).toEqual(['/first', '/third']);
    expect(Date.now() - START).toBe(1_050);
  });

  it('a CancelToken cancelled before the request takes no token: the next request is not held up', async () => {
    const { api, adapter } = instance();
    const source = axios.CancelToken.source();
    source.cancel('gave up early');
    const error = await api.get('/cancelled', { cancelToken: source.token }).catch((caught: unknown) => caught);
    expect(axios.isCancel(error)).toBe(true);
    await api.get('/next');
    expect(Date.now() - START).toBe(0);
    expect(adapter.calls.map((call) => call.url)).toEqual(['/next']);
  });

  it('a CancelToken cancelled just as the token comes gives the token back and sends nothing', async () => {
    const adapter = stubAdapter(() => ({ status: 200 }));
    const api = axios.create({ baseURL: 'https://api.example.test', adapter });
    const source = axios.CancelToken.source();
    const completed: string[] = [];
    attachRateLimit(api, {
      limiter: {
        // A limiter that watches no signal: the cancel lands while its answer is on the way.
        async acquire() {
          source.cancel('too late');
          return { complete: () => completed.push('given back') };
        },
        pause() {},
      },
    });
    const error = await api.get('/late', { cancelToken: source.token }).catch((caught: unknown) => caught);
    expect(axios.isCancel(error)).toBe(true);
    expect(completed).toEqual(['given back']);
    expect(adapter.calls).toHaveLength(0);
  });

  it("a custom limiter whose permit throws as it is given back still leaves the caller axios's cancel", async () => {
    const adapter = stubAdapter(() => ({ status: 200 }));
    const api = axios.create({ baseURL: 'https://api.example.test', adapter });
    const source = axios.CancelToken.source();
    attachRateLimit(api, {
      limiter: {
        async acquire() {
          source.cancel('too late');
          return {
            complete() {
              throw new Error('bookkeeping broke');
            },
          };
        },
        pause() {},
      },
    });
    const error = await api.get('/late', { cancelToken: source.token }).catch((caught: unknown) => caught);
    expect(axios.isCancel(error)).toBe(true);
    expect((error as Error).message).toBe('too late');
    expect(adapter.calls).toHaveLength(0);
  });

  it('maxQueue overflow rejects at once with ERR_RATE_LIMITED carrying the failure summary and the config', async () => {
    const { api, adapter } = instance(1);
    await api.get('/first');
    const waiting = api.get('/second').catch((error: unknown) => error);
    const overflow = await api.get('/third').catch((error: unknown) => error);
    expect(Date.now() - START).toBe(0);
    expect(overflow).toMatchObject({ code: 'ERR_RATE_LIMITED', key: 'https://api.example.test' });
    expect(getFailureSummary(overflow)).toMatchObject({ reason: 'rate-limited', attempts: 1 });
    expect((overflow as { config?: { url?: string } }).config?.url).toBe('/third');
    // The config rides along for the dead-letter layer, but stays out of enumeration, so out of logs.
    expect(Object.keys(overflow as object)).not.toContain('config');
    await jest.advanceTimersByTimeAsync(1025);
    expect(await waiting).toMatchObject({ status: 200 });
    expect(adapter.calls.map((config) => config.url)).toEqual(['/first', '/second']);
  });

  it('maxWaitMs: an attempt that waits too long rejects with ERR_RATE_LIMITED and is never sent', async () => {
    const { api, adapter } = instance();
    await api.get('/first');
    const second = api.get('/second');
    const third = api.get('/third').catch((error: unknown) => error);
    await jest.advanceTimersByTimeAsync(2_000);
    await expect(second).resolves.toMatchObject({ status: 200 });
    const error = await third;
    expect(error).toMatchObject({ code: 'ERR_RATE_LIMITED', message: expect.stringMatching(/within 2000 ms/) });
    expect(getFailureSummary(error)).toMatchObject({ reason: 'rate-limited' });
    expect(adapter.calls.map((config) => config.url)).toEqual(['/first', '/second']);
  });

  it('resilience.rateLimitKey puts a request in its own bucket', async () => {
    const { api } = instance(0);
    await api.get('/first');
    await expect(api.get('/first', { resilience: { rateLimitKey: 'elsewhere' } })).resolves.toMatchObject({
      status: 200,
    });
    await expect(api.get('/again')).rejects.toMatchObject({ code: 'ERR_RATE_LIMITED' });
  });

  it('the default stamping counts a send from its answer: the next slot opens a window after the response came back', async () => {
    const sentAt: number[] = [];
    const adapter = stubAdapter((_config, index) => {
      sentAt.push(Date.now() - START);
      return index === 0
        ? { status: 200, delayMs: 300 }
        : index === 1
          ? { networkError: 'ECONNRESET', delayMs: 200 }
          : { status: 200 };
    });
    const api = axios.create({ baseURL: 'https://api.example.test', adapter });
    attachRateLimit(api, { limiter: memoryLimiter({ limit: 1, intervalMs: 1000 }) });
    // A layer further down the chain that hands on a copy of the config: the permit must still be found.
    registerLayer(api, { name: 'copying', requestStage: REQUEST_STAGE.chaos, request: (config) => ({ ...config }) });
    const first = api.get('/first');
    const second = api.get('/second').catch((error: unknown) => error);
    const third = api.get('/third');
    await jest.advanceTimersByTimeAsync(5_000);
    await Promise.all([first, second, third]);
    // Answered at 300, so the slot reopens at 300 + 1000 + 25; the failed one answered at 1325 + 200.
    expect(sentAt).toEqual([0, 1305, 2510]);
  });
});
