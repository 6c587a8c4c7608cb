/**
 * The parts of `@upstash/ratelimit` and `@upstash/redis` the Upstash limiter uses, typed structurally so
 * the package loads, builds and type-checks without those optional peers installed.
 */

/** What `Ratelimit#limit` answers (`@upstash/ratelimit` `RatelimitResponse`). */
export interface UpstashLimitResponse {
  success: boolean;
  limit: number;
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
  limit(identifier: string): Promise<UpstashLimitResponse>;
}

/**
 * The `Redis` client from `@upstash/redis` that the `Ratelimit` uses. The pause is read with `GETEX`
 * rather than `GET`: the client's auto-pipelining sends reads and writes in separate batches, and
 * `GETEX` travels in the write batch with the limiter's `EVALSHA`, so one HTTP request carries both.
 */
export interface UpstashRedisLike {
  getex(key: string): Promise<unknown>;
  set(key: string, value: string, options: { px: number }): Promise<unknown>;
}
