import type { AxiosError, AxiosRequestConfig } from 'axios';
import {
  assertBoolean,
  assertClock,
  assertFunction,
  assertKnownKeys,
  assertNonNegativeInteger,
  assertNonNegativeNumber,
  assertPlainObject,
  assertPositiveNumber,
  assertRatio,
  optionError,
  RETRYABLE_STATUSES,
  systemClock,
  systemRandom,
  type Clock,
  type FailureReason,
  type Random,
  type ServerHintSource,
} from '@axios-resilience/core';
import { JITTER_KINDS, type JitterFunction, type JitterKind } from './backoff';
import type { RetryBudgetOptions } from './retry-budget';

/** What every hook receives. */
export interface RetryState {
  error: AxiosError;
  config: AxiosRequestConfig;
  /** Attempts made so far, the failed one included (1 after the first attempt failed). */
  attempt: number;
  /** HTTP status of the failed attempt, if it got a response. */
  status?: number;
  /** The network error code of the failed attempt, if it had no response. */
  code?: string;
  /** Sum of the waits before this point. */
  totalDelayMs: number;
}

export interface RetryScheduledState extends RetryState {
  /** The wait before the next attempt. */
  delayMs: number;
  /** Where the wait came from: a server hint, or our own backoff. */
  source: ServerHintSource | 'backoff';
}

export interface RetryGiveUpState extends RetryState {
  reason: FailureReason;
}

/** Options of `attachRetry`; every one has a default. */
export interface RetryOptions {
  /**
   * Retries after the first attempt; 0 turns retrying off.
   * @default 5
   */
  maxRetries?: number;
  /**
   * The wait before the first retry, doubled for each next one (before jitter).
   * @default 500
   */
  baseDelayMs?: number;
  /**
   * Cap on one computed backoff wait (server hints are capped by `maxRetryAfterMs` instead).
   * @default 60_000
   */
  maxDelayMs?: number;
  /**
   * How the backoff is spread out; see `backoffDelay`.
   * @default 'additive'
   */
  jitter?: JitterKind | JitterFunction;
  /**
   * The range of `additive` jitter: uniform 0..jitterMs is added. 1000 rather than the 500 of the article
   * the project grew from: with 500, the first retries of many clients that failed together land in a
   * 500 ms band and re-stampede the server (2.2x its capacity in the herd benchmark); 1000 halves that.
   * @default 1000
   */
  jitterMs?: number;
  /**
   * Uniform 0..retryAfterJitterMs added to a server hint given in whole seconds (`Retry-After`, and the
   * resets of `RateLimit` / `X-RateLimit-Reset`). Never earlier than the server asked; but clients that
   * failed together and got the same hint stop coming back in the same instant (with `Retry-After: 1` and
   * 1,000 clients against a server serving 100 per 100 ms, 1000 here takes the herd from 10x capacity, with
   * half the clients giving up, to 1.17x with none). `retry-after-ms`, precise per client, is always followed
   * exactly. 0 follows every hint exactly.
   * @default 0
   */
  retryAfterJitterMs?: number;
  /**
   * A retry whose wait would push the summed waits of one operation past this is not scheduled.
   * @default 60_000
   */
  maxTotalDelayMs?: number;
  /**
   * A server hint (`Retry-After` and kin) longer than this ends the retries at once
   * (`retry-after-too-long`): waiting an hour inline is never right.
   * @default 60_000
   */
  maxRetryAfterMs?: number;
  /**
   * The per-instance retry budget, or `false` to turn it off.
   * @default { minPerSecond: 10, ratio: 0.2, maxTokens: 100 }
   */
  retryBudget?: RetryBudgetOptions | false;
  /**
   * Total time allowed for one call, waits included, measured from its first attempt. No retry is
   * scheduled that would start past it.
   * @default undefined (none)
   */
  deadlineMs?: number;
  /**
   * Retry POST and PATCH even without an idempotency key. Dangerous: a write the server committed
   * before the failure will be made twice.
   * @default false
   */
  retryNonIdempotent?: boolean;
  /**
   * Statuses retried (409 is added for requests that carry an idempotency key).
   * @default [408, 429, 500, 502, 503, 504]
   */
  statuses?: readonly number[];
  /** Overrides the built-in decision: `true` retry, `false` do not, `undefined` keep the default. */
  shouldRetry?: (state: RetryState) => boolean | undefined | Promise<boolean | undefined>;
  /** Called before each wait. Errors it throws are ignored. */
  onRetry?: (state: RetryScheduledState) => void | Promise<void>;
  /** Called once when the operation finally fails. Errors it throws are ignored. */
  onGiveUp?: (state: RetryGiveUpState) => void | Promise<void>;
  /** @default the global timers, read at call time */
  clock?: Clock;
  /** @default Math.random, read at call time */
  random?: Random;
}

/** `RetryOptions` with every default filled in and checked. */
export interface ResolvedRetryOptions {
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  jitter: JitterKind | JitterFunction;
  jitterMs: number;
  retryAfterJitterMs: number;
  maxTotalDelayMs: number;
  maxRetryAfterMs: number;
  retryBudget: Required<RetryBudgetOptions> | false;
  deadlineMs: number | undefined;
  retryNonIdempotent: boolean;
  statuses: readonly number[];
  /** See `RetryOptions.shouldRetry`. */
  shouldRetry: RetryOptions['shouldRetry'];
  /** See `RetryOptions.onRetry`. */
  onRetry: RetryOptions['onRetry'];
  /** See `RetryOptions.onGiveUp`. */
  onGiveUp: RetryOptions['onGiveUp'];
  clock: Clock;
  random: Random;
}

/** The defaults, in one place: 5 retries from 500 ms, 0-1000 ms jitter, 60 s caps, a 20 % retry budget. */
export const DEFAULT_RETRY_OPTIONS: ResolvedRetryOptions = Object.freeze({
  maxRetries: 5,
  baseDelayMs: 500,
  maxDelayMs: 60_000,
  jitter: 'additive',
  jitterMs: 1000,
  retryAfterJitterMs: 0,
  maxTotalDelayMs: 60_000,
  maxRetryAfterMs: 60_000,
  retryBudget: Object.freeze({ minPerSecond: 10, ratio: 0.2, maxTokens: 100 }),
  deadlineMs: undefined,
  retryNonIdempotent: false,
  statuses: RETRYABLE_STATUSES,
  shouldRetry: undefined,
  onRetry: undefined,
  onGiveUp: undefined,
  clock: systemClock,
  random: systemRandom,
}) as ResolvedRetryOptions;

const KNOWN_KEYS = Object.keys(DEFAULT_RETRY_OPTIONS);

function resolveBudget(path: string, value: unknown): Required<RetryBudgetOptions> | false {
  if (value === false) return false;
  assertPlainObject(path, value);
  assertKnownKeys(path, value, ['minPerSecond', 'ratio', 'maxTokens']);
  const minPerSecond = value.minPerSecond ?? 10;
  const ratio = value.ratio ?? 0.2;
  assertNonNegativeNumber(`${path}.minPerSecond`, minPerSecond);
  assertRatio(`${path}.ratio`, ratio);
  const maxTokens = value.maxTokens ?? Math.max(1, minPerSecond * 10);
  assertPositiveNumber(`${path}.maxTokens`, maxTokens);
  return { minPerSecond, ratio, maxTokens };
}

/**
 * Merges options over a base (the defaults, or the attach-time options for a per-request override)
 * and validates the result. Throws a `TypeError` naming the option at fault.
 */
export function resolveRetryOptions(
  options: RetryOptions | undefined,
  base: ResolvedRetryOptions = DEFAULT_RETRY_OPTIONS,
  path = 'retry',
): ResolvedRetryOptions {
  if (options === undefined) return base;
  assertPlainObject(path, options);
  assertKnownKeys(path, options as Record<string, unknown>, KNOWN_KEYS);
  const defined = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  const merged = { ...base, ...defined } as ResolvedRetryOptions & { retryBudget: unknown };

  assertNonNegativeInteger(`${path}.maxRetries`, merged.maxRetries);
  assertNonNegativeNumber(`${path}.baseDelayMs`, merged.baseDelayMs);
  assertNonNegativeNumber(`${path}.maxDelayMs`, merged.maxDelayMs);
  assertNonNegativeNumber(`${path}.jitterMs`, merged.jitterMs);
  assertNonNegativeNumber(`${path}.retryAfterJitterMs`, merged.retryAfterJitterMs);
  assertNonNegativeNumber(`${path}.maxTotalDelayMs`, merged.maxTotalDelayMs);
  assertNonNegativeNumber(`${path}.maxRetryAfterMs`, merged.maxRetryAfterMs);
  if (merged.deadlineMs !== undefined) assertPositiveNumber(`${path}.deadlineMs`, merged.deadlineMs);
  assertBoolean(`${path}.retryNonIdempotent`, merged.retryNonIdempotent);
  if (typeof merged.jitter !== 'function' && !JITTER_KINDS.includes(merged.jitter)) {
    throw optionError(
      `${path}.jitter`,
      `one of ${JITTER_KINDS.map((kind) => `'${kind}'`).join(', ')} or a function`,
      merged.jitter,
    );
  }
  if (
    !Array.isArray(merged.statuses) ||
    !merged.statuses.every((status) => Number.isInteger(status) && status >= 100 && status <= 599)
  ) {
    throw optionError(`${path}.statuses`, 'an array of HTTP status codes', merged.statuses);
  }
  for (const hook of ['shouldRetry', 'onRetry', 'onGiveUp'] as const) {
    if (merged[hook] !== undefined) assertFunction(`${path}.${hook}`, merged[hook]);
  }
  assertClock(`${path}.clock`, merged.clock);
  assertFunction(`${path}.random`, merged.random);
  merged.retryBudget =
    'retryBudget' in defined ? resolveBudget(`${path}.retryBudget`, merged.retryBudget) : base.retryBudget;
  return merged as ResolvedRetryOptions;
}
