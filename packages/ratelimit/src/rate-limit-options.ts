import type { AxiosRequestConfig } from 'axios';
import {
  assertBoolean,
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
  key: string;
  /** Epoch ms until which the key is paused. */
  untilMs: number;
  delayMs: number;
  /** The header the pause came from. */
  source: ServerHintSource;
  /** The status of the response that asked for the pause. */
  status: number;
}

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
  /** Called when a response pauses a key. Errors it throws are ignored. */
  onPause?: (state: RateLimitPauseState) => void | Promise<void>;
  /** @default the global timers, read at call time */
  clock?: Clock;
}

export interface ResolvedRateLimitOptions {
  limiter: RateLimiter;
  key: (config: AxiosRequestConfig) => string;
  maxWaitMs: number;
  maxQueue: number | undefined;
  learn: boolean;
  onPause: RateLimitOptions['onPause'];
  clock: Clock;
}

/** The request's origin, or `'unknown'` for a relative URL with no base. */
export function originKey(config: AxiosRequestConfig): string {
  return requestOrigin(config);
}

export const DEFAULT_RATE_LIMIT_OPTIONS = Object.freeze({
  key: originKey,
  maxWaitMs: 60_000,
  maxQueue: undefined as number | undefined,
  learn: true,
  onPause: undefined as RateLimitOptions['onPause'],
  clock: systemClock,
});

const KNOWN_KEYS = ['limiter', 'key', 'maxWaitMs', 'maxQueue', 'learn', 'onPause', 'clock'];

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
  assertPlainObject(`${path}.clock`, merged.clock);
  for (const method of ['now', 'setTimeout', 'clearTimeout'] as const) {
    assertFunction(`${path}.clock.${method}`, merged.clock[method]);
  }
  return merged;
}
