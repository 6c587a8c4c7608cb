import axios from 'axios';
import { getFailureSummary } from '@axios-resilience/core';
import { attachRateLimit, memoryLimiter } from '@axios-resilience/ratelimit';
import { attachRetry } from '@axios-resilience/retry';
import { stubAdapter } from '@axios-resilience/testkit';

const START = Date.UTC(2030, 0, 1);

beforeEach(() => {
  jest.useFakeTimers({ now: START });
});
afterEach(() => {
  jest.useRealTimers();
});

/** An API whose first answer to each path is 503, then 200; records when each attempt reached it. */
function flakyOnce() {
  const seen = new Set<string>();
  const sent: { url: string; at: number }[] = [];
  const adapter = stubAdapter((config) => {
    const url = config.url ?? '';
    sent.push({ url, at: Date.now() - START });
    if (seen.has(url)) return { status: 200 };
    seen.add(url);
    return { status: 503 };
  });
  return { adapter, sent };
}

describe('retries consume rate-limit tokens', () => {
  it.each([
    ['rate limit attached first', 'rate-limit-first'],
    ['retry attached first', 'retry-first'],
  ])('every retried attempt takes a token and waits its turn in line (%s)', async (_name, order) => {
    const { adapter, sent } = flakyOnce();
    const api = axios.create({ baseURL: 'https://api.example.test', adapter });
    const limiter = memoryLimiter({ limit: 2, intervalMs: 1000, stampAt: 'send', marginMs: 0 });
    const attachLimit = () => attachRateLimit(api, { limiter });
    const attachRetries = () => attachRetry(api, { baseDelayMs: 10, jitter: 'none', retryBudget: false });
    if (order === 'rate-limit-first') {
      attachLimit();
      attachRetries();
    } else {
      attachRetries();
      attachLimit();
    }

    const first = api.get('/a');
    const second = api.get('/b');
    await jest.advanceTimersByTimeAsync(5);
    const third = api.get('/c'); // joins the line before the retries do (they come back at 10 ms)
    await jest.advanceTimersByTimeAsync(5_000);
    await Promise.all([first, second, third]);

    // /a and /b spend the two tokens of the first window and fail; their retries come back at 10 ms and
    // wait behind /c, two per window: without a token per attempt, they would have gone out at 10 ms.
    expect(sent).toEqual([
      { url: '/a', at: 0 },
      { url: '/b', at: 0 },
      { url: '/c', at: 1000 },
      { url: '/a', at: 1000 },
      { url: '/b', at: 2000 },
      { url: '/c', at: 2000 },
    ]);
  });

  it('a retry that cannot get a token in time fails with ERR_RATE_LIMITED and keeps that reason', async () => {
    const { adapter, sent } = flakyOnce();
    const api = axios.create({ baseURL: 'https://api.example.test', adapter });
    attachRateLimit(api, { limiter: memoryLimiter({ limit: 1, intervalMs: 10_000 }), maxWaitMs: 500 });
    attachRetry(api, { baseDelayMs: 10, jitter: 'none', retryBudget: false });
    const outcome = api.get('/a').catch((error: unknown) => error);
    await jest.advanceTimersByTimeAsync(1_000);
    const error = await outcome;
    expect(error).toMatchObject({ code: 'ERR_RATE_LIMITED' });
    expect(getFailureSummary(error)).toMatchObject({ reason: 'rate-limited', attempts: 2 });
    expect(sent).toHaveLength(1);
  });

  it('a 429 retried by the retry layer waits for the pause the learner set, and counts against the budget', async () => {
    const sent: number[] = [];
    const adapter = stubAdapter((_config, index) => {
      sent.push(Date.now() - START);
      return index === 0 ? { status: 429, headers: { 'retry-after': '3' } } : { status: 200 };
    });
    const api = axios.create({ baseURL: 'https://api.example.test', adapter });
    const limiter = memoryLimiter({ limit: 10, intervalMs: 1000 });
    attachRateLimit(api, { limiter });
    attachRetry(api, { jitter: 'none', retryBudget: false });
    const response = api.get('/a');
    const other = api.get('/b').then(() => Date.now() - START);
    await jest.advanceTimersByTimeAsync(10_000);
    await expect(response).resolves.toMatchObject({ status: 200 });
    // /b went out with /a at 0 (both had tokens); the retry of /a waited for the 3 s pause.
    expect(await other).toBe(0);
    expect(sent).toEqual([0, 0, 3000]);
  });
});
