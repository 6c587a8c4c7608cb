import axios from 'axios';
import {
  attachRateLimit,
  createRateLimitInterceptors,
  type RateLimiter,
  type RateLimitPermit,
} from '@axios-resilience/ratelimit';
import { stubAdapter } from '@axios-resilience/testkit';

/** A limiter that records how it was asked, with a scripted fast path. */
function scriptedLimiter(fastPath: Array<'grant' | 'none' | 'throw'>) {
  const calls: string[] = [];
  const completed: string[] = [];
  const permit = (name: string): RateLimitPermit => ({ complete: () => void completed.push(name) });
  let asked = 0;
  const limiter: RateLimiter = {
    tryAcquire(key) {
      const step = fastPath[asked++] ?? 'none';
      calls.push(`tryAcquire:${key}:${step}`);
      if (step === 'throw') throw new Error('fast path broke');
      return step === 'grant' ? permit(`fast-${asked}`) : undefined;
    },
    async acquire(key) {
      calls.push(`acquire:${key}`);
      return permit(`slow-${asked}`);
    },
    pause() {},
  };
  return { limiter, calls, completed };
}

describe('the rate-limit layer with a limiter that has tryAcquire', () => {
  it('takes a free token without calling acquire, and completes its permit when the answer is in', async () => {
    const { limiter, calls, completed } = scriptedLimiter(['grant']);
    const instance = axios.create({
      baseURL: 'https://api.example.com',
      adapter: stubAdapter(() => ({ status: 200 })),
    });
    attachRateLimit(instance, { limiter });
    await instance.post('/charges', { amount: 1 });
    expect(calls).toEqual(['tryAcquire:https://api.example.com:grant']);
    expect(completed).toEqual(['fast-1']);
  });

  it('falls back to acquire when the fast path has no token or throws', async () => {
    const { limiter, calls, completed } = scriptedLimiter(['none', 'throw']);
    const instance = axios.create({
      baseURL: 'https://api.example.com',
      adapter: stubAdapter(() => ({ status: 200 })),
    });
    attachRateLimit(instance, { limiter });
    await instance.get('/a');
    await instance.get('/b');
    expect(calls).toEqual([
      'tryAcquire:https://api.example.com:none',
      'acquire:https://api.example.com',
      'tryAcquire:https://api.example.com:throw',
      'acquire:https://api.example.com',
    ]);
    expect(completed).toEqual(['slow-1', 'slow-2']);
  });

  it('skips the fast path for a request already aborted, which acquire then refuses', async () => {
    const { limiter, calls } = scriptedLimiter(['grant']);
    limiter.acquire = async (key, { signal }) => {
      calls.push(`acquire:${key}`);
      if (signal?.aborted) throw new axios.CanceledError('aborted');
    };
    const adapter = stubAdapter(() => ({ status: 200 }));
    const instance = axios.create({ baseURL: 'https://api.example.com', adapter });
    attachRateLimit(instance, { limiter });
    const controller = new AbortController();
    controller.abort();
    await expect(instance.get('/a', { signal: controller.signal })).rejects.toBeInstanceOf(axios.CanceledError);
    expect(calls.some((call) => call.startsWith('tryAcquire'))).toBe(false);
    expect(adapter.calls).toHaveLength(0);
  });

  it('keeps the hand-wired request interceptor a promise', async () => {
    const { limiter } = scriptedLimiter(['grant']);
    const [onRequest] = createRateLimitInterceptors({ limiter }).request;
    const config = { headers: new axios.AxiosHeaders(), url: 'https://api.example.com/x' };
    const result = onRequest(config as never);
    expect(result).toBeInstanceOf(Promise);
    await expect(result).resolves.toBe(config);
  });
});
