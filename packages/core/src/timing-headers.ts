/**
 * Parsers for the headers servers use to say when to come back. Every parser takes any input and returns
 * a finite, non-negative number of milliseconds or `undefined` ("no hint"): malformed values are ignored,
 * never thrown, never NaN.
 */

/** Anything axios may hand us as headers: `AxiosHeaders`, a plain object, or nothing. */
export type HeaderSource = { get?: unknown; [name: string]: unknown } | null | undefined;

/** Longest wait a header may express before we call it nonsense (about 10 years). */
const MAX_HINT_MS = 10 * 365 * 24 * 3600 * 1000;

function toHeaderString(value: unknown): string | undefined {
  if (value === undefined || value === null || value === false) return undefined;
  if (Array.isArray(value)) return value.length > 0 ? toHeaderString(value[0]) : undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** Reads one header, case-insensitively, from `AxiosHeaders` or a plain object. */
export function readHeader(headers: HeaderSource, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  const lower = name.toLowerCase();
  const direct = (headers as Record<string, unknown>)[name] ?? (headers as Record<string, unknown>)[lower];
  if (direct !== undefined) return toHeaderString(direct);
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === lower) return toHeaderString((headers as Record<string, unknown>)[key]);
  }
  return undefined;
}

function finiteMs(ms: number): number | undefined {
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_HINT_MS) return undefined;
  return Math.round(ms);
}

const DECIMAL = /^\s*(\d+(?:\.\d+)?)\s*$/;

/** `retry-after-ms` (OpenAI): a non-negative number of milliseconds. */
export function parseRetryAfterMs(value: unknown): number | undefined {
  const text = toHeaderString(value);
  if (text === undefined) return undefined;
  const match = DECIMAL.exec(text);
  return match ? finiteMs(Number(match[1])) : undefined;
}

/**
 * `Retry-After` (RFC 9110): delta-seconds or an HTTP-date. A date in the past means "now" (0).
 * Decimal seconds are accepted since some servers send them.
 */
export function parseRetryAfter(value: unknown, nowMs: number): number | undefined {
  const text = toHeaderString(value);
  if (text === undefined) return undefined;
  const match = DECIMAL.exec(text);
  if (match) return finiteMs(Number(match[1]) * 1000);
  return parseHttpDate(text, nowMs);
}

/**
 * `Date.parse` accepts nearly anything ("1" is the year 2001), so a date must look like one of the three
 * forms RFC 9110 allows: it names a weekday or month and has a time of day.
 */
const HTTP_DATE_SHAPE = /[A-Za-z]{3}.*\d{1,2}:\d{2}:\d{2}/;

function parseHttpDate(text: string, nowMs: number): number | undefined {
  if (!HTTP_DATE_SHAPE.test(text) || text.length > 64) return undefined;
  const at = Date.parse(text);
  if (!Number.isFinite(at)) return undefined;
  return finiteMs(Math.max(0, at - nowMs));
}

/**
 * A reset time from `X-RateLimit-Reset` / `RateLimit-Reset`, whose meaning varies by API: GitHub sends
 * epoch seconds, others delta seconds, a few epoch milliseconds. Told apart by size.
 */
export function parseResetValue(value: unknown, nowMs: number): number | undefined {
  const text = toHeaderString(value);
  if (text === undefined) return undefined;
  const match = DECIMAL.exec(text);
  if (!match) return undefined;
  const number = Number(match[1]);
  if (number > 1e12) return finiteMs(Math.max(0, number - nowMs));
  if (number > 1e9) return finiteMs(Math.max(0, number * 1000 - nowMs));
  return finiteMs(number * 1000);
}

function parseNonNegativeInteger(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const match = /^\s*(\d+)\s*$/.exec(text);
  if (!match) return undefined;
  const number = Number(match[1]);
  return Number.isSafeInteger(number) ? number : undefined;
}

/** What a server says about its rate limit: the remaining quota and, in ms from now, when it resets. */
export interface RateLimitInfo {
  limit?: number;
  remaining?: number;
  resetMs?: number;
}

/**
 * IETF `RateLimit`, both the current draft (`"default";r=0;t=30`, several policies comma-separated)
 * and the older one (`limit=100, remaining=0, reset=30`). With several policies the most restrictive
 * wins: the smallest remaining, and among exhausted policies the longest reset.
 */
export function parseIetfRateLimit(value: unknown): RateLimitInfo | undefined {
  const text = toHeaderString(value);
  if (text === undefined || text.length > 4096) return undefined;
  if (/(^|[\s,;])remaining\s*=/i.test(text)) {
    const fields = new Map<string, string>();
    for (const part of text.split(/[,;]/)) {
      const eq = part.indexOf('=');
      if (eq > 0) fields.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
    }
    const info: RateLimitInfo = {
      limit: parseNonNegativeInteger(fields.get('limit')),
      remaining: parseNonNegativeInteger(fields.get('remaining')),
      resetMs:
        parseNonNegativeInteger(fields.get('reset')) !== undefined
          ? finiteMs(Number(fields.get('reset')) * 1000)
          : undefined,
    };
    return info.remaining === undefined && info.resetMs === undefined ? undefined : info;
  }
  let best: RateLimitInfo | undefined;
  for (const item of text.split(',')) {
    const params = new Map<string, string>();
    for (const param of item.split(';').slice(1)) {
      const eq = param.indexOf('=');
      if (eq > 0) params.set(param.slice(0, eq).trim().toLowerCase(), param.slice(eq + 1).trim());
    }
    const remaining = parseNonNegativeInteger(params.get('r'));
    const seconds = parseNonNegativeInteger(params.get('t'));
    if (remaining === undefined && seconds === undefined) continue;
    const resetMs = seconds === undefined ? undefined : finiteMs(seconds * 1000);
    const candidate: RateLimitInfo = { remaining, resetMs };
    if (!best) {
      best = candidate;
      continue;
    }
    const candidateExhausted = candidate.remaining === 0;
    const bestExhausted = best.remaining === 0;
    if (candidateExhausted && !bestExhausted) best = candidate;
    else if (candidateExhausted === bestExhausted) {
      if ((candidate.remaining ?? Infinity) < (best.remaining ?? Infinity)) best = candidate;
      else if (candidate.remaining === best.remaining && (candidate.resetMs ?? 0) > (best.resetMs ?? 0))
        best = candidate;
    }
  }
  return best;
}

/**
 * The rate-limit state a response reports, from the IETF `RateLimit` header or, failing that, the
 * separate `RateLimit-*` / `X-RateLimit-*` headers.
 */
export function parseRateLimitInfo(headers: HeaderSource, nowMs: number): RateLimitInfo | undefined {
  const ietf = parseIetfRateLimit(readHeader(headers, 'ratelimit'));
  if (ietf) return ietf;
  for (const prefix of ['ratelimit-', 'x-ratelimit-']) {
    const remaining = parseNonNegativeInteger(readHeader(headers, `${prefix}remaining`));
    const resetMs = parseResetValue(readHeader(headers, `${prefix}reset`), nowMs);
    const limit = parseNonNegativeInteger(readHeader(headers, `${prefix}limit`));
    if (remaining !== undefined || resetMs !== undefined) return { limit, remaining, resetMs };
  }
  return undefined;
}

/** The header a wait came from. */
export type ServerHintSource = 'retry-after-ms' | 'retry-after' | 'ratelimit' | 'ratelimit-reset';

/** A server's word on when to come back. */
export interface ServerHint {
  /** Milliseconds from now; 0 means now. */
  delayMs: number;
  /** The header it came from. */
  source: ServerHintSource;
}

/**
 * The server's own word on when to retry, in the order of authority: `retry-after-ms`, `Retry-After`,
 * then an exhausted rate limit's reset (IETF `RateLimit` with `r=0`, or `RateLimit-Reset` /
 * `X-RateLimit-Reset` with remaining 0). A reset with quota left says nothing about this request.
 */
export function serverDelayHint(headers: HeaderSource, nowMs: number): ServerHint | undefined {
  const retryAfterMs = parseRetryAfterMs(readHeader(headers, 'retry-after-ms'));
  if (retryAfterMs !== undefined) return { delayMs: retryAfterMs, source: 'retry-after-ms' };
  const retryAfter = parseRetryAfter(readHeader(headers, 'retry-after'), nowMs);
  if (retryAfter !== undefined) return { delayMs: retryAfter, source: 'retry-after' };
  const ietf = parseIetfRateLimit(readHeader(headers, 'ratelimit'));
  if (ietf?.remaining === 0 && ietf.resetMs !== undefined) return { delayMs: ietf.resetMs, source: 'ratelimit' };
  const info = ietf ? undefined : parseRateLimitInfo(headers, nowMs);
  if (info?.remaining === 0 && info.resetMs !== undefined) return { delayMs: info.resetMs, source: 'ratelimit-reset' };
  return undefined;
}

/** `x-should-retry` / `Stripe-Should-Retry`: `true`, `false`, or no opinion. */
export function parseShouldRetryHeader(headers: HeaderSource): boolean | undefined {
  for (const name of ['x-should-retry', 'stripe-should-retry']) {
    const value = readHeader(headers, name)?.trim().toLowerCase();
    if (value === 'true') return true;
    if (value === 'false') return false;
  }
  return undefined;
}
