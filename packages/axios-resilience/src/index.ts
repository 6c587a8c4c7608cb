/**
 * The whole pipeline in one call, and every layer re-exported.
 * @packageDocumentation
 * @module axios-resilience
 */
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
