import axios, { type AxiosInstance } from 'axios';
import { attachRateLimit, memoryLimiter } from '@axios-resilience/ratelimit';
import { startFlakyApi, type FlakyApi } from '@axios-resilience/testkit';

/**
 * The promise of the default limiter, measured against a real server that counts arrivals in a sliding
 * window: fire everything at once and the server must never see more than the documented limit.
 */
describe('memoryLimiter against a real sliding-window server', () => {
  let api: FlakyApi;

  beforeEach(async () => {
    api = await startFlakyApi({ rateLimit: { limit: 20, windowMs: 1000, algorithm: 'sliding' } });
  });
  afterEach(async () => {
    await api.close();
  });

  /** The most arrivals the server saw in any window of `windowMs` ending at an arrival. */
  function busiestWindow(windowMs: number): number {
    const arrivals = api.requests.filter((request) => request.url === '/charges').map((request) => request.receivedAt);
    return Math.max(...arrivals.map((at) => arrivals.filter((other) => other > at - windowMs && other <= at).length));
  }

  async function fire(instances: AxiosInstance[], total: number) {
    // One warm-up request per instance: a burst on cold connections arrives late, which is the trap the
    // default stamping must absorb, but the first connection of a cold process is later still.
    await Promise.all(instances.map((instance) => instance.get('/health')));
    const started = Date.now();
    const responses = await Promise.all(
      Array.from({ length: total }, (_, index) =>
        instances[index % instances.length].post('/charges', { amount: 100 + index }, { validateStatus: () => true }),
      ),
    );
    return { statuses: responses.map((response) => response.status), seconds: (Date.now() - started) / 1000 };
  }

  it('200 requests fired at once through the default limiter at 20 per second: the server answers no 429', async () => {
    const client = axios.create({ baseURL: api.url });
    attachRateLimit(client, { limiter: memoryLimiter({ limit: 20, intervalMs: 1000 }) });
    const { statuses, seconds } = await fire([client], 200);
    expect(api.stats.rateLimited).toBe(0);
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    expect(api.ledger).toHaveLength(200);
    expect(busiestWindow(1000)).toBeLessThanOrEqual(20);
    // 200 at 20 per second cannot take less than 9 windows; the pacing is what made it take this long.
    expect(seconds).toBeGreaterThan(9);
  }, 60_000);

  it('the same with 5 axios instances sharing one limiter object', async () => {
    const limiter = memoryLimiter({ limit: 20, intervalMs: 1000 });
    const instances = Array.from({ length: 5 }, () => {
      const instance = axios.create({ baseURL: api.url });
      attachRateLimit(instance, { limiter });
      return instance;
    });
    const { statuses, seconds } = await fire(instances, 200);
    expect(api.stats.rateLimited).toBe(0);
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    expect(busiestWindow(1000)).toBeLessThanOrEqual(20);
    expect(seconds).toBeGreaterThan(9);
  }, 60_000);
});
