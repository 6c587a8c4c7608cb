import axios, { type AxiosError } from 'axios';
import { attachRetry } from '@axios-resilience/retry';
import { getFailureSummary } from '@axios-resilience/core';
import { stubAdapter, type StubReply } from '@axios-resilience/testkit';

/** An instance whose adapter answers from a script; jitter off unless a test says otherwise. */
function scriptedInstance(replies: StubReply[] | ((index: number) => StubReply)) {
  const adapter = stubAdapter((_config, index) =>
    typeof replies === 'function' ? replies(index) : (replies[index] ?? replies[replies.length - 1]),
  );
  const instance = axios.create({ adapter });
  return { instance, adapter };
}

async function settle<T>(promise: Promise<T>): Promise<{ value?: T; error?: AxiosError }> {
  try {
    return { value: await promise };
  } catch (error) {
    return { error: error as AxiosError };
  }
}

/** Runs a request to completion under fake timers, returning how much fake time passed. */
async function runWithFakeTime<T>(start: () => Promise<T>) {
  const startedAt = Date.now();
  const outcome = settle(start());
  let done = false;
  void outcome.then(() => (done = true));
  for (let guard = 0; !done && guard < 10_000; guard++) await jest.advanceTimersByTimeAsync(10);
  const result = await outcome;
  return { ...result, elapsedMs: Date.now() - startedAt };
}

beforeEach(() => jest.useFakeTimers({ now: new Date('2026-11-29T12:00:00Z') }));
afterEach(() => jest.useRealTimers());

const noJitter = { jitter: 'none' as const, retryBudget: false as const };

describe('server timing hints', () => {
  it('waits exactly Retry-After: 1 second, with no jitter added', async () => {
    const { instance, adapter } = scriptedInstance([{ status: 429, headers: { 'retry-after': '1' } }, { status: 200 }]);
    attachRetry(instance, { retryBudget: false, random: () => 0.999 });
    const { value, elapsedMs } = await runWithFakeTime(() => instance.get('/x'));
    expect(value?.status).toBe(200);
    expect(adapter.calls).toHaveLength(2);
    expect(elapsedMs).toBeGreaterThanOrEqual(1000);
    expect(elapsedMs).toBeLessThan(1020);
  });

  it('waits until an HTTP-date one second ahead', async () => {
    const inOneSecond = new Date(Date.now() + 1000).toUTCString();
    const { instance } = scriptedInstance([{ status: 503, headers: { 'retry-after': inOneSecond } }, { status: 200 }]);
    attachRetry(instance, { retryBudget: false, random: () => 0.999 });
    const { value, elapsedMs } = await runWithFakeTime(() => instance.get('/x'));
    expect(value?.status).toBe(200);
    expect(elapsedMs).toBeGreaterThanOrEqual(1000);
    expect(elapsedMs).toBeLessThan(1020);
  });

  it('retries at once on a date in the past and on Retry-After: 0', async () => {
    for (const hint of ['Wed, 21 Oct 2015 07:28:00 GMT', '0']) {
      const { instance, adapter } = scriptedInstance([
        { status: 503, headers: { 'retry-after': hint } },
        { status: 200 },
      ]);
      attachRetry(instance, { retryBudget: false });
      const { value, elapsedMs } = await runWithFakeTime(() => instance.get('/x'));
      expect(value?.status).toBe(200);
      expect(adapter.calls).toHaveLength(2);
      expect(elapsedMs).toBeLessThan(20);
    }
  });

  it('falls back to backoff on a malformed Retry-After', async () => {
    const { instance } = scriptedInstance([{ status: 503, headers: { 'retry-after': 'soon-ish' } }, { status: 200 }]);
    const delays: number[] = [];
    attachRetry(instance, { ...noJitter, baseDelayMs: 300, onRetry: (state) => void delays.push(state.delayMs) });
    const { value } = await runWithFakeTime(() => instance.get('/x'));
    expect(value?.status).toBe(200);
    expect(delays).toEqual([300]);
  });

  it('prefers retry-after-ms over Retry-After', async () => {
    const { instance } = scriptedInstance([
      { status: 429, headers: { 'retry-after': '5', 'retry-after-ms': '250' } },
      { status: 200 },
    ]);
    const seen: Array<{ delayMs: number; source: string }> = [];
    attachRetry(instance, {
      retryBudget: false,
      onRetry: ({ delayMs, source }) => void seen.push({ delayMs, source }),
    });
    const { elapsedMs } = await runWithFakeTime(() => instance.get('/x'));
    expect(seen).toEqual([{ delayMs: 250, source: 'retry-after-ms' }]);
    expect(elapsedMs).toBeLessThan(300);
  });

  it('with retryAfterJitterMs, adds 0..that much to second-grained hints, never to retry-after-ms', async () => {
    const cases: Array<[Record<string, string>, number, string]> = [
      [{ 'retry-after': '2' }, 2000 + 750, 'retry-after'],
      [{ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1' }, 1000 + 750, 'ratelimit-reset'],
      [{ 'retry-after': '2', 'retry-after-ms': '400' }, 400, 'retry-after-ms'],
    ];
    for (const [headers, expectedMs, expectedSource] of cases) {
      const { instance } = scriptedInstance([{ status: 429, headers }, { status: 200 }]);
      const seen: Array<{ delayMs: number; source: string }> = [];
      attachRetry(instance, {
        retryBudget: false,
        retryAfterJitterMs: 1000,
        random: () => 0.75,
        onRetry: ({ delayMs, source }) => void seen.push({ delayMs, source }),
      });
      const { value, elapsedMs } = await runWithFakeTime(() => instance.get('/x'));
      expect(value?.status).toBe(200);
      expect(seen).toHaveLength(1);
      expect(seen[0].source).toBe(expectedSource);
      expect(seen[0].delayMs).toBe(expectedMs);
      expect(elapsedMs).toBeGreaterThanOrEqual(seen[0].delayMs);
      expect(elapsedMs).toBeLessThan(seen[0].delayMs + 20);
    }
  });

  it('ends retrying at once on Retry-After: 3600', async () => {
    const { instance, adapter } = scriptedInstance([{ status: 429, headers: { 'retry-after': '3600' } }]);
    attachRetry(instance);
    const { error, elapsedMs } = await runWithFakeTime(() => instance.get('/x'));
    expect(adapter.calls).toHaveLength(1);
    expect(elapsedMs).toBeLessThan(20);
    expect(axios.isAxiosError(error)).toBe(true);
    expect(getFailureSummary(error)).toMatchObject({ reason: 'retry-after-too-long', attempts: 1 });
  });
});

describe('backoff and limits', () => {
  it('waits base * 2^n plus 0..1000 ms of jitter by default, and gives up after 6 attempts', async () => {
    const { instance, adapter } = scriptedInstance([{ status: 503 }]);
    const delays: number[] = [];
    attachRetry(instance, {
      retryBudget: false,
      random: () => 0.5,
      onRetry: (state) => void delays.push(state.delayMs),
    });
    const { error } = await runWithFakeTime(() => instance.get('/x'));
    expect(adapter.calls).toHaveLength(6);
    expect(delays).toEqual([1000, 1500, 2500, 4500, 8500]);
    expect(getFailureSummary(error)).toEqual({ attempts: 6, totalDelayMs: 18_000, reason: 'retries-exhausted' });
  });

  it('never lets the summed waits pass maxTotalDelayMs', async () => {
    const { instance, adapter } = scriptedInstance([{ status: 503 }]);
    attachRetry(instance, { ...noJitter, baseDelayMs: 1000, maxRetries: 10, maxTotalDelayMs: 5000 });
    const { error, elapsedMs } = await runWithFakeTime(() => instance.get('/x'));
    // 1000 + 2000 = 3000; the next wait (4000) would reach 7000 > 5000.
    expect(adapter.calls).toHaveLength(3);
    expect(elapsedMs).toBeLessThanOrEqual(5000);
    expect(getFailureSummary(error)).toMatchObject({ reason: 'total-delay-exceeded', totalDelayMs: 3000 });
  });

  it('honours deadlineMs, waits included', async () => {
    const { instance, adapter } = scriptedInstance([{ status: 503, delayMs: 400 }]);
    attachRetry(instance, { ...noJitter, baseDelayMs: 500, maxRetries: 10, deadlineMs: 2500 });
    const { error, elapsedMs } = await runWithFakeTime(() => instance.get('/x'));
    // Attempts end at 400, 1300 and 2700 ms (waits 500 and 1000); a third wait of 2000 ms would start the
    // fourth attempt at 4700 ms, past the 2500 ms deadline, so it is not scheduled.
    expect(adapter.calls).toHaveLength(3);
    expect(elapsedMs).toBeLessThanOrEqual(2500 + 400);
    expect(getFailureSummary(error)?.reason).toBe('deadline-exceeded');
  });

  it('maxRetries: 0 sends once', async () => {
    const { instance, adapter } = scriptedInstance([{ status: 503 }]);
    attachRetry(instance, { maxRetries: 0 });
    const { error } = await runWithFakeTime(() => instance.get('/x'));
    expect(adapter.calls).toHaveLength(1);
    expect(getFailureSummary(error)).toMatchObject({ attempts: 1, reason: 'retries-exhausted' });
  });

  it('every jitter kind stays within its bounds', async () => {
    for (const jitter of ['full', 'equal', 'decorrelated'] as const) {
      const { instance } = scriptedInstance([{ status: 503 }]);
      const delays: number[] = [];
      attachRetry(instance, { jitter, retryBudget: false, maxRetries: 3, onRetry: (s) => void delays.push(s.delayMs) });
      await runWithFakeTime(() => instance.get('/x'));
      expect(delays).toHaveLength(3);
      delays.forEach((delay, index) => {
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(jitter === 'decorrelated' ? 500 * 3 ** (index + 1) : 500 * 2 ** index);
      });
    }
  });
});

describe('the retry budget through the layer', () => {
  it("earns retries from first attempts only: a retry's own success adds nothing", async () => {
    // Each URL fails its first attempt with a 503 and answers 200 after; '/ok' always answers 200.
    const calls = new Map<string, number>();
    const adapter = stubAdapter((config) => {
      const seen = (calls.get(config.url!) ?? 0) + 1;
      calls.set(config.url!, seen);
      return { status: config.url === '/ok' || seen > 1 ? 200 : 503 };
    });
    const instance = axios.create({ adapter });
    // No refill over time: tokens come from first attempts alone, half a token each.
    attachRetry(instance, { jitter: 'none', retryBudget: { minPerSecond: 0, ratio: 0.5, maxTokens: 10 } });
    for (let index = 0; index < 4; index++) await instance.get('/ok');
    // Two tokens. Each flaky operation earns half a token (its failed first attempt) and spends one on its
    // retry, so the fifth finds the budget empty. Were a retry's success credited too, each would earn its
    // token back and the budget would never run out.
    const outcomes: string[] = [];
    for (let index = 1; index <= 5; index++) {
      const { value, error } = await runWithFakeTime(() => instance.get(`/flaky-${index}`));
      outcomes.push(value ? `ok after ${calls.get(`/flaky-${index}`)}` : getFailureSummary(error)!.reason);
    }
    expect(outcomes).toEqual(['ok after 2', 'ok after 2', 'ok after 2', 'ok after 2', 'budget-exhausted']);
  });
});

describe('what is retried', () => {
  it('never retries a POST without an idempotency key, and retries one with a key', async () => {
    const bare = scriptedInstance([{ status: 503 }]);
    attachRetry(bare.instance, noJitter);
    const first = await runWithFakeTime(() => bare.instance.post('/charges', { amount: 1 }));
    expect(bare.adapter.calls).toHaveLength(1);
    expect(getFailureSummary(first.error)?.reason).toBe('not-retryable');

    const keyed = scriptedInstance([{ status: 503 }, { status: 200 }]);
    attachRetry(keyed.instance, noJitter);
    const second = await runWithFakeTime(() =>
      keyed.instance.post('/charges', { amount: 1 }, { headers: { 'Idempotency-Key': 'k-1' } }),
    );
    expect(second.value?.status).toBe(200);
    expect(keyed.adapter.calls).toHaveLength(2);
  });

  it('retries a keyless write when the server says x-should-retry: true, and not a GET it says false to', async () => {
    const write = scriptedInstance([{ status: 500, headers: { 'x-should-retry': 'true' } }, { status: 201 }]);
    attachRetry(write.instance, noJitter);
    expect((await runWithFakeTime(() => write.instance.post('/w', {}))).value?.status).toBe(201);

    const read = scriptedInstance([{ status: 503, headers: { 'stripe-should-retry': 'false' } }]);
    attachRetry(read.instance, noJitter);
    await runWithFakeTime(() => read.instance.get('/r'));
    expect(read.adapter.calls).toHaveLength(1);
  });

  it('retries 409 only for a request carrying a key', async () => {
    const keyless = scriptedInstance([{ status: 409 }]);
    attachRetry(keyless.instance, noJitter);
    await runWithFakeTime(() => keyless.instance.put('/r', {}));
    expect(keyless.adapter.calls).toHaveLength(1);

    const keyed = scriptedInstance([{ status: 409 }, { status: 200 }]);
    attachRetry(keyed.instance, noJitter);
    await runWithFakeTime(() => keyed.instance.post('/r', {}, { resilience: { idempotencyKey: 'abc' } }));
    expect(keyed.adapter.calls).toHaveLength(2);
  });

  it('treats network codes by the list, and never retries an unknown one', async () => {
    for (const [code, expected] of [
      ['ECONNRESET', 2],
      ['ETIMEDOUT', 2],
      ['ECONNABORTED', 2],
      ['ERR_NETWORK', 2],
      ['ERR_BAD_OPTION', 1],
    ] as const) {
      const { instance, adapter } = scriptedInstance([{ networkError: code }, { status: 200 }]);
      attachRetry(instance, noJitter);
      await runWithFakeTime(() => instance.get('/x'));
      expect([code, adapter.calls.length]).toEqual([code, expected]);
    }
  });

  it('lets shouldRetry override the built-in verdict, within maxRetries', async () => {
    const { instance, adapter } = scriptedInstance([{ status: 404 }]);
    attachRetry(instance, { ...noJitter, baseDelayMs: 1, maxRetries: 2, shouldRetry: () => true });
    const { error } = await runWithFakeTime(() => instance.get('/x'));
    expect(adapter.calls).toHaveLength(3);
    expect(getFailureSummary(error)?.reason).toBe('retries-exhausted');
  });

  it('does not retry a streamed body, which cannot be sent twice', async () => {
    const { Readable } = await import('node:stream');
    const { instance, adapter } = scriptedInstance([{ status: 503 }]);
    attachRetry(instance, { ...noJitter, retryNonIdempotent: true });
    await runWithFakeTime(() => instance.put('/upload', Readable.from(['a', 'b'])));
    expect(adapter.calls).toHaveLength(1);
  });
});

describe('overrides, hooks and ejection', () => {
  it('honours instance options and per-request overrides, including false', async () => {
    const { instance, adapter } = scriptedInstance([{ status: 503 }]);
    attachRetry(instance, { ...noJitter, baseDelayMs: 1, maxRetries: 1 });
    await runWithFakeTime(() => instance.get('/a'));
    expect(adapter.calls).toHaveLength(2);

    await runWithFakeTime(() => instance.get('/b', { resilience: { retry: { maxRetries: 3 } } }));
    expect(adapter.calls).toHaveLength(2 + 4);

    const { error } = await runWithFakeTime(() => instance.get('/c', { resilience: { retry: false } }));
    expect(adapter.calls).toHaveLength(2 + 4 + 1);
    expect(getFailureSummary(error)).toMatchObject({ attempts: 1, reason: 'not-retryable' });
  });

  it('calls onRetry before each wait and onGiveUp once; a throwing hook changes nothing', async () => {
    const { instance } = scriptedInstance([{ status: 503 }]);
    const onGiveUp = jest.fn();
    const onRetry = jest.fn(() => {
      throw new Error('broken hook');
    });
    attachRetry(instance, { ...noJitter, baseDelayMs: 1, maxRetries: 2, onRetry, onGiveUp });
    const { error } = await runWithFakeTime(() => instance.get('/x'));
    expect(onRetry).toHaveBeenCalledTimes(2);
    expect(onGiveUp).toHaveBeenCalledTimes(1);
    expect(onGiveUp.mock.calls[0][0]).toMatchObject({ attempt: 3, reason: 'retries-exhausted', status: 503 });
    expect(error?.response?.status).toBe(503);
  });

  it('eject() removes every interceptor the layer added', async () => {
    const { instance, adapter } = scriptedInstance([{ status: 503 }]);
    const handlersBefore = [instance.interceptors.request, instance.interceptors.response].map(
      (manager) => (manager as unknown as { handlers: unknown[] }).handlers.filter(Boolean).length,
    );
    const attachment = attachRetry(instance, noJitter);
    attachment.eject();
    attachment.eject();
    const handlersAfter = [instance.interceptors.request, instance.interceptors.response].map(
      (manager) => (manager as unknown as { handlers: unknown[] }).handlers.filter(Boolean).length,
    );
    expect(handlersAfter).toEqual(handlersBefore);
    await runWithFakeTime(() => instance.get('/x'));
    expect(adapter.calls).toHaveLength(1);
  });

  it("runs the user's own header interceptor on every attempt without stacking values", async () => {
    const { instance, adapter } = scriptedInstance([{ status: 503 }, { status: 503 }, { status: 200 }]);
    let token = 0;
    instance.interceptors.request.use((config) => {
      token += 1;
      config.headers.set('Authorization', `Bearer t${token}`);
      config.headers.set('X-Trace', 'one');
      return config;
    });
    attachRetry(instance, { ...noJitter, baseDelayMs: 1 });
    await runWithFakeTime(() => instance.get('/x'));
    expect(adapter.calls.map((config) => config.headers.get('Authorization'))).toEqual([
      'Bearer t1',
      'Bearer t2',
      'Bearer t3',
    ]);
    expect(adapter.calls.every((config) => config.headers.get('X-Trace') === 'one')).toBe(true);
  });
});

describe('cancellation', () => {
  it('an abort during a backoff wait rejects at once with CanceledError and sends nothing more', async () => {
    const { instance, adapter } = scriptedInstance([{ status: 503 }]);
    attachRetry(instance, { ...noJitter, baseDelayMs: 10_000 });
    const controller = new AbortController();
    const outcome = settle(instance.get('/x', { signal: controller.signal }));
    await jest.advanceTimersByTimeAsync(100);
    expect(adapter.calls).toHaveLength(1);
    const abortedAt = Date.now();
    controller.abort();
    const { error } = await outcome;
    expect(axios.isCancel(error)).toBe(true);
    expect(Date.now() - abortedAt).toBe(0);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(adapter.calls).toHaveLength(1);
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('options are validated at attach time', () => {
  it.each([
    [{ maxRetries: -1 }, /retry\.maxRetries: expected a non-negative integer, got -1/],
    [{ jitter: 'sometimes' }, /retry\.jitter: expected one of .* or a function, got "sometimes"/],
    [{ baseDelayMs: Number.NaN }, /retry\.baseDelayMs: expected a finite number >= 0, got NaN/],
    [{ maxRetry: 3 }, /retry\.maxRetry: unknown option/],
    [{ retryBudget: { ratio: 2 } }, /retry\.retryBudget\.ratio: expected a number from 0 to 1, got 2/],
    [{ statuses: [99] }, /retry\.statuses: expected an array of HTTP status codes/],
    [{ onRetry: 'log' }, /retry\.onRetry: expected a function/],
    [{ retryAfterJitterMs: -1 }, /retry\.retryAfterJitterMs: expected a finite number >= 0, got -1/],
  ])('%j', (options, message) => {
    const instance = axios.create();
    expect(() => attachRetry(instance, options as never)).toThrow(TypeError);
    expect(() => attachRetry(instance, options as never)).toThrow(message);
  });
});
