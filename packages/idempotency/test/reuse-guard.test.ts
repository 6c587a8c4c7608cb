import { isIdempotencyKeyReusedError, type Clock } from '@axios-resilience/core';
import { createReuseGuard } from '../src';
import type { RequestFingerprint } from '../src';

function manualClock(start = 1_000_000): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    setTimeout: () => undefined,
    clearTimeout: () => undefined,
    advance(ms) {
      now += ms;
    },
  };
}

const charge: RequestFingerprint = { method: 'POST', url: 'https://api.test/v1/charges', body: 'text:1111' };

function reuseError(run: () => void): Error {
  try {
    run();
  } catch (error) {
    expect(isIdempotencyKeyReusedError(error)).toBe(true);
    return error as Error;
  }
  throw new Error('expected ERR_IDEMPOTENCY_KEY_REUSED');
}

describe('createReuseGuard', () => {
  it('never puts URL credentials or the query in its error message', () => {
    const guard = createReuseGuard();
    guard.check('k-secret', { ...charge, url: 'https://user:pa55-canary@api.test/v1/charges?api_key=sk-canary' });
    const error = reuseError(() =>
      guard.check('k-secret', { ...charge, url: 'https://user:pa55-canary@api.test/v1/refunds?api_key=sk-canary' }),
    );
    expect(error.message).toMatch(/https:\/\/api\.test\/v1\/charges/);
    expect(error.message).not.toMatch(/canary|pa55|api_key/);
  });

  it('lets one key be sent again for the same request', () => {
    const guard = createReuseGuard();
    guard.check('k1', charge);
    expect(() => guard.check('k1', { ...charge })).not.toThrow();
    expect(guard.size).toBe(1);
  });

  it.each([
    ['method', { ...charge, method: 'PUT' }, /different method/],
    ['URL', { ...charge, url: 'https://api.test/v1/refunds' }, /different URL/],
    ['body', { ...charge, body: 'text:2222' }, /different body/],
  ])('refuses the key for a request with a different %s', (_part, other, message) => {
    const guard = createReuseGuard();
    guard.check('k1', charge);
    const error = reuseError(() => guard.check('k1', other));
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(/"k1" was first used for POST https:\/\/api.test\/v1\/charges/);
    expect(error.message).toMatch(/Nothing was sent/);
  });

  it('names every part that differs and keeps query strings out of the message', () => {
    const guard = createReuseGuard();
    guard.check('k1', { ...charge, url: 'https://api.test/v1/charges?api_key=secret' });
    const error = reuseError(() =>
      guard.check('k1', { method: 'DELETE', url: 'https://api.test/x?token=t', body: 'none' }),
    );
    expect(error.message).toMatch(/different method and URL and body/);
    expect(error.message).not.toMatch(/secret|token=t/);
  });

  it('stays within maxEntries over 100,000 operations, forgetting the oldest first', () => {
    const clock = manualClock();
    const guard = createReuseGuard({ maxEntries: 1_000, clock });
    let largest = 0;
    for (let operation = 0; operation < 100_000; operation += 1) {
      guard.check(`key-${operation}`, { ...charge, body: `text:${operation}` });
      largest = Math.max(largest, guard.size);
      clock.advance(1);
    }
    expect(largest).toBe(1_000);
    // The newest keys are still guarded; the oldest were forgotten, so reusing one is no longer refused.
    expect(() => guard.check('key-99999', { ...charge, body: 'text:other' })).toThrow(/different body/);
    expect(() => guard.check('key-0', { ...charge, body: 'text:other' })).not.toThrow();
  });

  it('forgets keys older than maxAgeMs, so the record stays bounded by age under 100,000 operations', () => {
    const clock = manualClock();
    const guard = createReuseGuard({ maxEntries: 1_000_000, maxAgeMs: 5_000, clock });
    let largest = 0;
    for (let operation = 0; operation < 100_000; operation += 1) {
      guard.check(`key-${operation}`, charge);
      largest = Math.max(largest, guard.size);
      clock.advance(1);
    }
    expect(largest).toBe(5_000);
    expect(() => guard.check('key-99999', { ...charge, method: 'PATCH' })).toThrow(/different method/);
    clock.advance(5_000);
    expect(guard.size).toBe(0);
    expect(() => guard.check('key-99999', { ...charge, method: 'PATCH' })).not.toThrow();
  });

  it('clear() forgets everything', () => {
    const guard = createReuseGuard();
    guard.check('k1', charge);
    guard.clear();
    expect(guard.size).toBe(0);
    expect(() => guard.check('k1', { ...charge, body: 'none' })).not.toThrow();
  });
});
