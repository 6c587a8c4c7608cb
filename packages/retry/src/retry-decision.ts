import type { AxiosError, AxiosRequestConfig } from 'axios';
import {
  hasIdempotencyKey,
  isIdempotentMethod,
  isRetryableNetworkError,
  parseShouldRetryHeader,
  requestMethod,
  serverDelayHint,
  type FailureReason,
  type ServerHintSource,
} from '@axios-resilience/core';
import { backoffDelay } from './backoff';
import type { ResolvedRetryOptions } from './retry-options';

/** Retry after `delayMs` (and why that long), or give up (and why). */
export type RetryDecision =
  { retry: true; delayMs: number; source: ServerHintSource | 'backoff' } | { retry: false; reason: FailureReason };

/** A body that was a stream is gone once sent: it cannot be sent again byte for byte. */
function hasOneShotBody(config: AxiosRequestConfig): boolean {
  const data = config.data as { pipe?: unknown; getReader?: unknown } | undefined;
  return (
    typeof data === 'object' &&
    data !== null &&
    (typeof data.pipe === 'function' || typeof data.getReader === 'function')
  );
}

/**
 * The built-in verdict, before limits: is this failure worth another attempt at all?
 * - The server's explicit `x-should-retry` / `Stripe-Should-Retry` wins over the status rule; `true` means
 *   the request was not processed, so even a keyless write may go again.
 * - Otherwise the status must be retryable (409 only with an idempotency key: the key is in flight), or
 *   the failure a retryable network error; and the method must be safe to repeat: idempotent, or a write
 *   carrying an idempotency key. No key, no retry of a write.
 */
export function isRetryableFailure(error: AxiosError, options: ResolvedRetryOptions): boolean {
  const config = error.config;
  if (!config || hasOneShotBody(config)) return false;
  const keyed = hasIdempotencyKey(config);
  const response = error.response;
  if (response) {
    const serverSays = parseShouldRetryHeader(response.headers);
    if (serverSays !== undefined) return serverSays;
    const status = response.status;
    const statusRetryable = options.statuses.includes(status) || (status === 409 && keyed);
    if (!statusRetryable) return false;
  } else if (!isRetryableNetworkError(error)) {
    return false;
  }
  return isIdempotentMethod(requestMethod(config)) || keyed || options.retryNonIdempotent;
}

/** The inputs of `decideRetry`. */
export interface DecisionInput {
  error: AxiosError;
  options: ResolvedRetryOptions;
  /** The verdict on retryability: the built-in rule, or the user's `shouldRetry` where it had an opinion. */
  retryable: boolean;
  /** Attempts made so far, the failed one included. */
  attempt: number;
  totalDelayMs: number;
  firstAttemptAt: number;
  previousDelayMs: number | undefined;
  now: number;
}

/**
 * Whether and when to retry, given a retryable verdict and the limits. Pure; the retry budget is
 * checked afterwards by the caller, so no token is spent on a retry the limits forbid.
 */
export function decideRetry(input: DecisionInput): RetryDecision {
  const { error, options, attempt, totalDelayMs, now } = input;
  if (!input.retryable) return { retry: false, reason: 'not-retryable' };
  const retryIndex = attempt - 1;
  if (retryIndex >= options.maxRetries) return { retry: false, reason: 'retries-exhausted' };

  let delayMs: number;
  let source: ServerHintSource | 'backoff';
  const hint = error.response ? serverDelayHint(error.response.headers, now) : undefined;
  if (hint) {
    if (hint.delayMs > options.maxRetryAfterMs) return { retry: false, reason: 'retry-after-too-long' };
    delayMs = hint.delayMs;
    // Second-grained hints are the same for everyone who failed together; only later, never earlier.
    if (hint.source !== 'retry-after-ms' && options.retryAfterJitterMs > 0) {
      delayMs += Math.floor(options.random() * options.retryAfterJitterMs);
    }
    source = hint.source;
  } else {
    delayMs = backoffDelay({
      retryIndex,
      baseDelayMs: options.baseDelayMs,
      maxDelayMs: options.maxDelayMs,
      jitter: options.jitter,
      jitterMs: options.jitterMs,
      previousDelayMs: input.previousDelayMs,
      random: options.random,
    });
    source = 'backoff';
  }
  if (totalDelayMs + delayMs > options.maxTotalDelayMs) return { retry: false, reason: 'total-delay-exceeded' };
  if (options.deadlineMs !== undefined && now + delayMs - input.firstAttemptAt > options.deadlineMs) {
    return { retry: false, reason: 'deadline-exceeded' };
  }
  return { retry: true, delayMs, source };
}
