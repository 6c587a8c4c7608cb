/**
 * The strategy every limiter implements. Narrow on purpose: `attachRateLimit` needs only these two
 * calls, so a limiter backed by anything (memory, Redis, a vendor SDK) plugs in, and one limiter
 * object can serve many axios instances at once.
 */

/** How long and how patiently one request may wait for a token. */
export interface AcquireOptions {
  /**
   * The request's abort signal. Aborting leaves the line at once: `acquire` rejects with axios's
   * `CanceledError` and the place is freed for the next request.
   */
  signal?: AbortSignal | null;
  /** The longest the caller may wait; past it `acquire` rejects with `RateLimitedError` (`ERR_RATE_LIMITED`). */
  maxWaitMs: number;
  /**
   * The most requests that may wait for a token on this key; one more is rejected at once with
   * `RateLimitedError`. `undefined` puts no bound on the line.
   */
  maxQueue?: number;
}

/** What a granted request holds until its answer comes back. */
export interface RateLimitPermit {
  /**
   * Tells the limiter the response (or the error) came back. Limiters that count a send from the
   * moment its answer returns use it; the others ignore it. Safe to call more than once.
   */
  complete(): void;
}

/** A rate-limit strategy: where `attachRateLimit` takes its tokens from, per key. */
export interface RateLimiter {
  /**
   * Resolves when the caller may send one request for `key`; waiters on one key are served first in,
   * first out. Rejects with `RateLimitedError` when no token comes within `maxWaitMs` or the line is
   * longer than `maxQueue`, and with axios's `CanceledError` when `signal` aborts. It may resolve with a
   * permit, whose `complete()` the caller invokes once the answer is in.
   */
  acquire(key: string, options: AcquireOptions): Promise<RateLimitPermit | void>;
  /**
   * Optional fast path: takes a token at once and returns its permit when one is free and nobody waits on
   * `key`; returns `undefined` otherwise, and the caller then waits with `acquire`. Lets the common case
   * (a token free) cost no promise. Must never start work it cannot finish synchronously, so a limiter
   * whose store is remote leaves it out.
   */
  tryAcquire?(key: string): RateLimitPermit | undefined;
  /**
   * Stops granting tokens for `key` until the epoch-ms time `untilMs`; a later pause wins over an earlier
   * one. Never throws: a shared limiter spreads the pause to every process and reports store failures itself.
   */
  pause(key: string, untilMs: number): void | Promise<void>;
}

/** The permit of a limiter that does not track answers. */
export const NO_OP_PERMIT: RateLimitPermit = Object.freeze({ complete() {} });
