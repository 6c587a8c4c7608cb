/**
 * Layer 3: proactive rate limiting, in memory or shared across workers through Redis.
 * @packageDocumentation
 * @module @axios-resilience/ratelimit
 */
export { attachRateLimit, createRateLimitInterceptors, type RateLimitInterceptors } from './attach-rate-limit';
export {
  resolveRateLimitOptions,
  originKey,
  DEFAULT_RATE_LIMIT_OPTIONS,
  type RateLimitOptions,
  type ResolvedRateLimitOptions,
  type RateLimitPauseState,
} from './rate-limit-options';
export { NO_OP_PERMIT, type RateLimiter, type RateLimitPermit, type AcquireOptions } from './limiter';
export {
  memoryLimiter,
  resolveMemoryLimiterOptions,
  DEFAULT_MEMORY_LIMITER_OPTIONS,
  MEMORY_ALGORITHMS,
  type MemoryLimiter,
  type MemoryLimiterOptions,
  type ResolvedMemoryLimiterOptions,
  type MemoryAlgorithm,
} from './memory-limiter';
export {
  upstashLimiter,
  resolveUpstashLimiterOptions,
  DEFAULT_UPSTASH_LIMITER_OPTIONS,
  STORE_FAILURE_POLICIES,
  type UpstashLimiter,
  type UpstashLimiterOptions,
  type ResolvedUpstashLimiterOptions,
  type StoreFailurePolicy,
  type StoreErrorState,
} from './upstash-limiter';
export type { UpstashRatelimitLike, UpstashRedisLike, UpstashLimitResponse } from './upstash-types';
export { SlidingLog, type StampAt, type LogEntry, type SendSettler, type SlidingLogVerdict } from './sliding-log';
export { TokenBucket, type TokenBucketVerdict } from './token-bucket';
export { FixedWindow, type FixedWindowVerdict } from './fixed-window';
export { learnedPause, type LearnedPause } from './learn-from-headers';
