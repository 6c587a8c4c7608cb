import type { AxiosRequestConfig } from 'axios';

/** Stable codes carried by every error the suite itself raises. */
export type ResilienceErrorCode =
  | 'ERR_RATE_LIMITED'
  | 'ERR_IDEMPOTENCY_KEY_REUSED'
  | 'ERR_IDEMPOTENCY_KEY_INVALID'
  | 'ERR_DEAD_LETTER_SINK'
  | 'ERR_DEAD_LETTER_SINK_TIMEOUT'
  | 'ERR_REPLAY_REFUSED'
  | 'ERR_CHAOS_REFUSED'
  | 'ERR_STORE_UNAVAILABLE';

/**
 * A brand kept under a registered symbol, so `isResilienceError` holds across two installed copies of the
 * package (where `instanceof` would not).
 */
const BRAND = Symbol.for('axios-resilience.error');

/** Options of every suite error. */
export interface ResilienceErrorOptions {
  /** The error behind this one (a store's connection error, say). */
  cause?: unknown;
}

/** Base class of every error the suite raises itself. axios errors are never wrapped in it. */
export class ResilienceError extends Error {
  readonly code: ResilienceErrorCode;
  override readonly cause?: unknown;

  constructor(code: ResilienceErrorCode, message: string, options: ResilienceErrorOptions = {}) {
    super(message);
    this.name = 'ResilienceError';
    this.code = code;
    if (options.cause !== undefined) this.cause = options.cause;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** A plain view for logs: name, code and message; never the cause, which may hold a request. */
  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message };
  }
}

/** Thrown when a request cannot get a rate-limit token in time, or the store policy rejects it. */
export class RateLimitedError extends ResilienceError {
  /** The bucket the request waited on. */
  readonly key: string;
  /**
   * The request that got no token, set by the rate-limit layer (non-enumerable, so a log of the error never
   * prints its headers); the dead-letter layer records it from here.
   */
  declare readonly config?: AxiosRequestConfig;
  constructor(message: string, key: string, options: ResilienceErrorOptions = {}) {
    super('ERR_RATE_LIMITED', message, options);
    this.name = 'RateLimitedError';
    this.key = key;
  }
}

/** Thrown before anything is sent when one idempotency key is used for two different requests. */
export class IdempotencyKeyReusedError extends ResilienceError {
  constructor(message: string, options: ResilienceErrorOptions = {}) {
    super('ERR_IDEMPOTENCY_KEY_REUSED', message, options);
    this.name = 'IdempotencyKeyReusedError';
  }
}

/** True for any error the suite raised itself, from this copy of the package or another. */
export function isResilienceError(value: unknown): value is ResilienceError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/** True for `ERR_RATE_LIMITED`. */
export function isRateLimitedError(value: unknown): value is RateLimitedError {
  return isResilienceError(value) && value.code === 'ERR_RATE_LIMITED';
}

/** True for `ERR_IDEMPOTENCY_KEY_REUSED`. */
export function isIdempotencyKeyReusedError(value: unknown): value is IdempotencyKeyReusedError {
  return isResilienceError(value) && value.code === 'ERR_IDEMPOTENCY_KEY_REUSED';
}
