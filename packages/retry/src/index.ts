/**
 * Layer 1: retry with server timing hints first, backoff with jitter, a retry budget and deadlines.
 * @packageDocumentation
 * @module @axios-resilience/retry
 */
export { attachRetry, createRetryInterceptors, type RetryInterceptors } from './attach-retry';
export {
  resolveRetryOptions,
  DEFAULT_RETRY_OPTIONS,
  type RetryOptions,
  type ResolvedRetryOptions,
  type RetryState,
  type RetryScheduledState,
  type RetryGiveUpState,
} from './retry-options';
export {
  backoffDelay,
  exponentialDelay,
  JITTER_KINDS,
  type JitterKind,
  type JitterFunction,
  type JitterState,
  type BackoffInput,
} from './backoff';
export { decideRetry, isRetryableFailure, type RetryDecision, type DecisionInput } from './retry-decision';
export { RetryBudget, type RetryBudgetOptions } from './retry-budget';
