/**
 * What the axios-resilience layers share: per-request state, the ordered layer registry, timing-header parsers, sleep and errors.
 * @packageDocumentation
 * @module @axios-resilience/core
 */
import './axios-augment';

export { systemClock, systemRandom, type Clock, type Random } from './clock';
export {
  ResilienceError,
  RateLimitedError,
  IdempotencyKeyReusedError,
  isResilienceError,
  isRateLimitedError,
  isIdempotencyKeyReusedError,
  type ResilienceErrorCode,
  type ResilienceErrorOptions,
} from './errors';
export {
  getResilience,
  updateResilience,
  getFailureSummary,
  setFailureSummary,
  RESILIENCE_KEY,
  type ResilienceConfig,
  type ResilienceRequestOptions,
  type ResilienceState,
  type FailureReason,
  type FailureSummary,
} from './state';
export {
  registerLayer,
  attachedLayers,
  REQUEST_STAGE,
  RESPONSE_STAGE,
  type Layer,
  type Attachment,
  type RequestHandler,
  type ResponseFulfilledHandler,
  type ResponseRejectedHandler,
} from './registry';
export {
  readHeader,
  parseRetryAfter,
  parseRetryAfterMs,
  parseResetValue,
  parseIetfRateLimit,
  parseRateLimitInfo,
  serverDelayHint,
  parseShouldRetryHeader,
  type HeaderSource,
  type RateLimitInfo,
  type ServerHint,
  type ServerHintSource,
} from './timing-headers';
export { sleep, canceledError, type SleepOptions } from './sleep';
export {
  RETRYABLE_STATUSES,
  IDEMPOTENT_METHODS,
  RETRYABLE_NETWORK_CODES,
  DEFAULT_IDEMPOTENCY_HEADER,
  requestMethod,
  isIdempotentMethod,
  hasIdempotencyKey,
  isRetryableNetworkError,
} from './classify';
export { requestUrl, requestOrigin } from './request-url';
export {
  optionError,
  describeValue,
  assertNonNegativeInteger,
  assertPositiveInteger,
  assertNonNegativeNumber,
  assertPositiveNumber,
  assertRatio,
  assertBoolean,
  assertFunction,
  assertOneOf,
  assertNonEmptyString,
  assertPlainObject,
  assertKnownKeys,
  assertClock,
} from './validate';
