import axios from 'axios';
import {
  IdempotencyKeyReusedError,
  RateLimitedError,
  ResilienceError,
  assertKnownKeys,
  assertNonNegativeInteger,
  isIdempotencyKeyReusedError,
  isRateLimitedError,
  isResilienceError,
  sleep,
  requestUrl,
  requestOrigin,
  hasIdempotencyKey,
} from '@axios-resilience/core';

describe('sleep', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('waits the given time', async () => {
    let done = false;
    void sleep(500).then(() => (done = true));
    await jest.advanceTimersByTimeAsync(499);
    expect(done).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
  });

  it('rejects at once with CanceledError on abort and clears its timer', async () => {
    const controller = new AbortController();
    const waiting = sleep(10_000, { signal: controller.signal });
    controller.abort();
    expect(axios.isCancel(await waiting.catch((error: unknown) => error))).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('rejects before waiting when already aborted', async () => {
    const error = await sleep(10, { signal: AbortSignal.abort() }).catch((caught: unknown) => caught);
    expect(axios.isCancel(error)).toBe(true);
  });
});

describe('errors', () => {
  it('carry a stable code and cause, and are recognised across copies by brand', () => {
    const cause = new Error('redis down');
    const limited = new RateLimitedError('no token within 100 ms', 'https://api.example.com', { cause });
    expect(limited).toBeInstanceOf(ResilienceError);
    expect(limited.code).toBe('ERR_RATE_LIMITED');
    expect(limited.cause).toBe(cause);
    expect(isRateLimitedError(limited)).toBe(true);
    expect(isIdempotencyKeyReusedError(limited)).toBe(false);
    expect(isIdempotencyKeyReusedError(new IdempotencyKeyReusedError('reused'))).toBe(true);
    const lookalike = Object.assign(new Error('x'), { code: 'ERR_RATE_LIMITED' });
    expect(isResilienceError(lookalike)).toBe(false);
    expect(JSON.parse(JSON.stringify(limited))).toEqual({
      name: 'RateLimitedError',
      code: 'ERR_RATE_LIMITED',
      message: 'no token within 100 ms',
    });
  });
});

describe('validation and helpers', () => {
  it('names the option, the expectation and the value', () => {
    expect(() => assertNonNegativeInteger('retry.maxRetries', 1.5)).toThrow(
      'retry.maxRetries: expected a non-negative integer, got 1.5',
    );
    expect(() => assertKnownKeys('x', { colour: 1 }, ['color'])).toThrow('x.colour: unknown option (known: color)');
  });

  it('builds the absolute URL and origin axios will use', () => {
    expect(requestUrl({ baseURL: 'https://api.example.com/v1/', url: 'charges', params: { a: 1 } })).toBe(
      'https://api.example.com/v1/charges?a=1',
    );
    expect(requestOrigin({ baseURL: 'https://api.example.com:8443/v1', url: '/x' })).toBe(
      'https://api.example.com:8443',
    );
    expect(requestOrigin({ url: '/relative' })).toBe('unknown');
  });

  it('finds an idempotency key in state or header', () => {
    expect(hasIdempotencyKey({ resilience: { idempotencyKey: 'k' } })).toBe(true);
    expect(hasIdempotencyKey({ headers: { 'idempotency-key': 'k' } })).toBe(true);
    expect(hasIdempotencyKey({ headers: {} })).toBe(false);
  });
});
