export {
  attachResilience,
  DEFAULT_DEAD_LETTER_PATH,
  type ResilienceOptions,
  type ResilienceRateLimitOptions,
  type ResilienceAttachment,
} from './attach-resilience';
export * from '@axios-resilience/core';
export * from '@axios-resilience/retry';
export * from '@axios-resilience/idempotency';
export * from '@axios-resilience/ratelimit';
export * from '@axios-resilience/dlq';
export * from '@axios-resilience/chaos';
// Both the rate limiter and the dead-letter sink take a structural Upstash client type under the same name.
export type { UpstashRedisLike } from '@axios-resilience/ratelimit';
export type { UpstashRedisLike as UpstashSinkRedisLike } from '@axios-resilience/dlq';
