import type { AxiosError, AxiosRequestConfig } from 'axios';
import { getResilience } from './state';
import { readHeader } from './timing-headers';

/** Statuses that say "try again": the server or a proxy failed transiently, or asked us to slow down. */
export const RETRYABLE_STATUSES: readonly number[] = [408, 429, 500, 502, 503, 504];

/** Methods whose repetition cannot change the outcome (RFC 9110 section 9.2.2). */
export const IDEMPOTENT_METHODS: readonly string[] = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'];

/** Network failures worth another attempt. `ECONNABORTED` is axios's timeout. */
export const RETRYABLE_NETWORK_CODES: readonly string[] = [
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ECONNABORTED',
  'ERR_NETWORK',
];

/** The header idempotency keys travel in (IETF draft, Stripe). */
export const DEFAULT_IDEMPOTENCY_HEADER = 'Idempotency-Key';

/** The request's method in upper case (`GET` when unset, as axios does). */
export function requestMethod(config: AxiosRequestConfig | undefined): string {
  return (config?.method ?? 'get').toUpperCase();
}

/** True for methods that may be repeated freely: GET, HEAD, OPTIONS, PUT, DELETE, TRACE. */
export function isIdempotentMethod(method: string): boolean {
  return IDEMPOTENT_METHODS.includes(method.toUpperCase());
}

/** A request carries an idempotency key when the layer gave it one or the caller set the header. */
export function hasIdempotencyKey(
  config: AxiosRequestConfig | undefined,
  headerName = DEFAULT_IDEMPOTENCY_HEADER,
): boolean {
  if (!config) return false;
  const fromState = getResilience(config).idempotencyKey;
  if (typeof fromState === 'string' && fromState.length > 0) return true;
  const header = readHeader(config.headers, headerName);
  return header !== undefined && header.length > 0;
}

/** True for a failure with no HTTP response whose code is in `codes`. */
export function isRetryableNetworkError(
  error: AxiosError,
  codes: readonly string[] = RETRYABLE_NETWORK_CODES,
): boolean {
  if (error.response) return false;
  const code = error.code ?? (error.cause as { code?: string } | undefined)?.code;
  return typeof code === 'string' && codes.includes(code);
}
