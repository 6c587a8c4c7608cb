import {
  parseIetfRateLimit,
  parseRateLimitInfo,
  readHeader,
  serverDelayHint,
  type HeaderSource,
  type ServerHintSource,
} from '@axios-resilience/core';

/** True when some header name holds `ratelimit` (`RateLimit`, `RateLimit-Reset`, `X-RateLimit-*`, ...). */
export function namesRateLimit(headers: HeaderSource): boolean {
  if (!headers || typeof headers !== 'object') return false;
  for (const name in headers) {
    if (name.length >= 9 && Object.hasOwn(headers, name) && name.toLowerCase().includes('ratelimit')) return true;
  }
  return false;
}

/** A pause a response asks for. */
export interface LearnedPause {
  /** How long to pause the key, in ms from the time given to `learnedPause`. */
  delayMs: number;
  /** The header the pause was read from. */
  source: ServerHintSource;
}

/**
 * What a response says about the key's budget, as a pause from now, or `undefined` when it says nothing
 * usable. A 429 pauses until its timing hint (`retry-after-ms`, `Retry-After`, an exhausted `RateLimit`
 * or `X-RateLimit-*` reset); any other response pauses only when it reports the budget exhausted
 * (`X-RateLimit-Remaining: 0` or IETF `r=0`) together with a reset. Malformed headers say nothing.
 */
export function learnedPause(
  status: number | undefined,
  headers: HeaderSource,
  nowMs: number,
): LearnedPause | undefined {
  // Most answers carry no rate-limit header at all: one pass over the names spares the parsers.
  if (status !== 429 && !namesRateLimit(headers)) return undefined;
  return pauseFromHeaders(status, headers, nowMs);
}

/** `learnedPause` for a caller that has already checked `namesRateLimit` (or has a 429). */
export function pauseFromHeaders(
  status: number | undefined,
  headers: HeaderSource,
  nowMs: number,
): LearnedPause | undefined {
  if (status === 429) {
    const hint = serverDelayHint(headers, nowMs);
    return hint && hint.delayMs > 0 ? { delayMs: hint.delayMs, source: hint.source } : undefined;
  }
  const ietf = parseIetfRateLimit(readHeader(headers, 'ratelimit'));
  const info = ietf ?? parseRateLimitInfo(headers, nowMs);
  if (info?.remaining !== 0 || info.resetMs === undefined || info.resetMs <= 0) return undefined;
  return { delayMs: info.resetMs, source: ietf ? 'ratelimit' : 'ratelimit-reset' };
}
