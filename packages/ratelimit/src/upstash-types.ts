/**
 * The parts of `@upstash/ratelimit` and `@upstash/redis` the Upstash limiter uses, typed structurally so
 * the package loads, builds and type-checks without those optional peers installed.
 */

/** What `Ratelimit#limit` answers (`@upstash/ratelimit` `RatelimitResponse`). */
export interface UpstashLimitResponse {
  /** `true` when a token was taken and the request may go. */
  success: boolean;
  /** The `Ratelimit`'s configured budget. */
  limit: number;
  /** Tokens left after this call. */
  remaining: number;
  /** Epoch ms when the budget refills. */
  reset: number;
  /** Background work (analytics, multi-region sync) the SDK asks callers to await or hand to `waitUntil`. */
  pending?: Promise<unknown>;
  /** `'timeout'` when the SDK gave up waiting for Redis and let the request pass on its own. */
  reason?: string;
}

/** A `Ratelimit` from `@upstash/ratelimit`, any algorithm. */
export interface UpstashRatelimitLike {
  /**
   * Takes one token for `identifier` (the rate-limit key) if there is one. When Redis cannot be reached it
   * rejects, or answers with `reason: 'timeout'`; the limiter treats both as a store failure.
   */
  limit(identifier: string): Promise<UpstashLimitResponse>;
}

/**
 * The `Redis` client from `@upstash/redis` that the `Ratelimit` uses. The pause is read with `GETEX`
 * rather than `GET`: the client's auto-pipelining sends reads and writes in separate batches, and
 * `GETEX` travels in the write batch with the limiter's `EVALSHA`, so one HTTP request carries both.
 */
export interface UpstashRedisLike {
  /** Reads a shared pause: its epoch-ms end as a string or number, or `null` when there is none. */
  getex(key: string): Promise<unknown>;
  /** Writes a shared pause that Redis expires `px` ms later, when it has run out anyway. */
  set(key: string, value: string, options: { px: number }): Promise<unknown>;
  /** Runs a script by its text (the booking limiter's first call, and after Redis forgot the script). */
  eval?(script: string, keys: string[], args: unknown[]): Promise<unknown>;
  /** Runs a script Redis already holds, by its SHA-1 (every later call of the booking limiter). */
  evalsha?(sha1: string, keys: string[], args: unknown[]): Promise<unknown>;
}
