import type { AxiosRequestConfig } from 'axios';
import {
  assertBoolean,
  assertClock,
  assertFunction,
  assertKnownKeys,
  assertNonNegativeInteger,
  assertNonNegativeNumber,
  assertPlainObject,
  optionError,
  requestOrigin,
  systemClock,
  type Clock,
  type ServerHintSource,
} from '@axios-resilience/core';
import type { RateLimiter } from './limiter';

/** What `onPause` receives when a response pauses a key. */
export interface RateLimitPauseState {
  /** The rate-limit key (bucket) that is paused. */
  key: string;
  /** Epoch ms until which the key is paused. */
  untilMs: number;
  /** The pause length in ms, counted from when the response was read. */
  delayMs: number;
  /** The header the pause came from. */
  source: ServerHintSource;
  /** The status of the response that asked for the pause. */
  status: number;
}

/** Options of `attachRateLimit` and `createRateLimitInterceptors`. */
export interface RateLimitOptions {
  /**
   * Where tokens come from: `memoryLimiter(...)` for one process, `upstashLimiter(...)` for a budget
   * shared by every process. Required: the right limit is the upstream's, and only you know it. One
   * limiter may serve several instances; they then share its budget per key.
   */
  limiter: RateLimiter;
  /**
   * The bucket a request draws from. A request's own `resilience.rateLimitKey` wins over it.
   * @default the request's origin (scheme, host and port)
   */
  key?: (config: AxiosRequestConfig) => string;
  /**
   * How long an attempt may wait for a token before it fails with `ERR_RATE_LIMITED`.
   * @default 60_000
   */
  maxWaitMs?: number;
  /**
   * The most attempts that may wait per key; one more fails at once with `ERR_RATE_LIMITED`.
   * @default undefined (no bound)
   */
  maxQueue?: number;
  /**
   * Pause a key when a response says its budget is spent: a 429 with a timing hint,
   * `X-RateLimit-Remaining: 0` with a reset, or IETF `RateLimit` with `r=0`.
   * @default true
   */
  learn?: boolean;
  /**
   * Called, without being awaited, when a response pauses a key. Errors it throws are ignored.
   * @default undefined
   */
  onPause?: (state: RateLimitPauseState) => void | Promise<void>;
  /**
   * The time a learned pause is counted from. The limiter waits on its own clock.
   * @default the global timers, read at call time
   */
  clock?: Clock;
}

/** Rate-limit options with every default filled in and every value checked. */
export interface ResolvedRateLimitOptions {
  /** See `RateLimitOptions.limiter`. */
  limiter: RateLimiter;
  /** See `RateLimitOptions.key`. */
  key: (config: AxiosRequestConfig) => string;
  /** See `RateLimitOptions.maxWaitMs`. */
  maxWaitMs: number;
  /** See `RateLimitOptions.maxQueue`; `undefined` for no bound. */
  maxQueue: number | undefined;
  /** See `RateLimitOptions.learn`. */
  learn: boolean;
  /** See `RateLimitOptions.onPause`. */
  onPause: RateLimitOptions['onPause'];
  /** See `RateLimitOptions.clock`. */
  clock: Clock;
}

/**
 * The request's origin, or `'unknown'` for a relative URL with no base. Core's `requestOrigin` itself, not a
 * wrapper around it: the default key runs on every request.
 */
export const originKey: (config: AxiosRequestConfig) => string = requestOrigin;

/** Every default but the limiter, which has none: the right limit is the upstream's. */
export const DEFAULT_RATE_LIMIT_OPTIONS = Object.freeze({
  /** One bucket per origin. */
  key: originKey,
  maxWaitMs: 60_000,
  maxQueue: undefined as number | undefined,
  learn: true,
  /** No observer. */
  onPause: undefined as RateLimitOptions['onPause'],
  clock: systemClock,
});

const KNOWN_KEYS = ['limiter', 'key', 'maxWaitMs', 'maxQueue', 'learn', 'onPause', 'clock'];

/**
 * Validates the options at attach time and fills in the defaults. A wrong option throws a `TypeError`
 * naming it (prefixed with `path`), what was expected and what was given.
 */
export function resolveRateLimitOptions(options: RateLimitOptions, path = 'rateLimit'): ResolvedRateLimitOptions {
  assertPlainObject(path, options);
  assertKnownKeys(path, options as unknown as Record<string, unknown>, KNOWN_KEYS);
  const limiter = options.limiter as Partial<RateLimiter> | undefined;
  if (typeof limiter?.acquire !== 'function' || typeof limiter.pause !== 'function') {
    throw optionError(
      `${path}.limiter`,
      'a rate limiter (memoryLimiter({ limit, intervalMs }), upstashLimiter({ ratelimit, redis }) or an object with acquire and pause)',
      options.limiter,
    );
  }
  const defined = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  const merged = { ...DEFAULT_RATE_LIMIT_OPTIONS, ...defined } as ResolvedRateLimitOptions;
  assertFunction(`${path}.key`, merged.key);
  assertNonNegativeNumber(`${path}.maxWaitMs`, merged.maxWaitMs);
  if (merged.maxQueue !== undefined) assertNonNegativeInteger(`${path}.maxQueue`, merged.maxQueue);
  assertBoolean(`${path}.learn`, merged.learn);
  if (merged.onPause !== undefined) assertFunction(`${path}.onPause`, merged.onPause);
  assertClock(`${path}.clock`, merged.clock);
  return merged;
}
