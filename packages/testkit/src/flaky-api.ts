import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { listenOnLoopback, readBody } from './http-server';
import { seededRandom } from './seeded-random';

/**
 * A Stripe-like payments API on a loopback port that fails the way real ones do: status faults, connection
 * resets, slow answers, rate limits, and the case that double-charges customers, a charge that is made
 * while the client never hears back. Its ledger records every charge made, so a test can count them.
 */

/** What the server can do wrong on one request. */
export type FlakyFaultKind = 'status' | 'reset' | 'delay' | 'commit-then-drop' | 'commit-then-delay';

export type FlakyFault =
  /** Answer this status without processing (nothing is charged), as an overloaded server or proxy would. */
  | { kind: 'status'; status: number; retryAfterMs?: number; headers?: Record<string, string> }
  /** Reset the connection without processing (nothing is charged). */
  | { kind: 'reset' }
  /** Wait `ms` before processing normally. */
  | { kind: 'delay'; ms: number }
  /** Process (the charge is made), then destroy the connection instead of answering. */
  | { kind: 'commit-then-drop' }
  /** Process (the charge is made), then answer only after `ms`: longer than the client's timeout. */
  | { kind: 'commit-then-delay'; ms?: number };

/** A scripted step: a fault, a bare status code, a fault kind by name, or `null` for "no fault". */
export type FlakyScriptStep = FlakyFault | number | 'reset' | 'commit-then-drop' | 'commit-then-delay' | null;

/** Chance of each fault per request (each from 0 to 1, summing to at most 1). */
export interface FlakyFaultRates {
  status429?: number;
  status500?: number;
  status502?: number;
  status503?: number;
  status504?: number;
  reset?: number;
  delay?: number;
  commitThenDrop?: number;
  commitThenDelay?: number;
}

export interface FlakyRateLimit {
  /** Requests allowed per window. */
  limit: number;
  windowMs: number;
  /**
   * `'sliding'`: at most `limit` requests in any `windowMs` span ending now. `'fixed'`: at most `limit` per
   * epoch-aligned window (`floor(now / windowMs)`), so a burst may straddle a boundary.
   * @default 'sliding'
   */
  algorithm?: 'sliding' | 'fixed';
  /**
   * Rejected requests count against the window too, as on many real APIs: a client that hammers a 429 stays
   * limited.
   * @default true
   */
  countRejected?: boolean;
  /**
   * Send `retry-after-ms` beside `Retry-After` (whole seconds, rounded up) on a 429.
   * @default true
   */
  retryAfterMs?: boolean;
  /**
   * Send `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (delta seconds) on every
   * rate-limited route's answer.
   * @default false
   */
  quotaHeaders?: boolean;
}

export interface FlakyApiOptions {
  /**
   * Seed of the random fault schedule: the same seed draws the same faults for the same arrival order.
   * @default 1
   */
  seed?: number;
  /** Random faults for every request to `/charges` routes. */
  faults?: FlakyFaultRates;
  /**
   * Random faults only for the first request that arrives with an idempotency key (and every `POST /charges`
   * without one): what a retry carrying the key then meets is the server's idempotency store.
   */
  firstAttemptFaults?: FlakyFaultRates;
  /** Faults for the first requests to `/charges` routes, in arrival order; random faults take over after. */
  script?: FlakyScriptStep[];
  /** A rate limit on `/charges` routes, answering 429 with `Retry-After`. */
  rateLimit?: FlakyRateLimit;
  /**
   * Time a charge takes between arrival and commit; while it runs, the key is in flight (409 for a second
   * request with it).
   * @default 0
   */
  processingDelayMs?: number;
  /**
   * Wait of a random `delay` fault.
   * @default 50
   */
  delayMs?: number;
  /**
   * How long a `commit-then-delay` fault holds the answer back.
   * @default 1_000
   */
  commitDelayMs?: number;
  /** `Retry-After` (and `retry-after-ms`) on 429 and 503 faults; none by default. */
  faultRetryAfterMs?: number;
  /**
   * The header read for the idempotency key; raw and sf-string (quoted) values are both accepted.
   * @default 'Idempotency-Key'
   */
  idempotencyHeader?: string;
  /**
   * Answer 400 to a `POST /charges` without a key, as the IETF draft allows.
   * @default false
   */
  requireIdempotencyKey?: boolean;
  /**
   * Answer CORS preflights and allow any origin, so a page in a browser can call the API (preflights are not
   * counted as requests).
   * @default false
   */
  cors?: boolean;
  /**
   * Keep every request in `requests` (turn off for very long benchmarks).
   * @default true
   */
  recordRequests?: boolean;
}

/** One charge the server made: a side effect a test can count. */
export interface FlakyCharge {
  id: string;
  /** The key it was made under; `undefined` for a request that carried none. */
  idempotencyKey: string | undefined;
  /** The request body, parsed. */
  body: Record<string, unknown>;
  createdAt: number;
}

export type FlakyOutcome =
  | 'pending'
  | 'ok'
  | 'charged'
  | 'replayed'
  | 'conflict'
  | 'mismatch'
  | 'rate-limited'
  | 'fault'
  | 'bad-request'
  | 'not-found'
  | 'closed';

/** One request as the server received and handled it. */
export interface FlakyRequest {
  /** 1 for the first request the server received. */
  sequence: number;
  method: string;
  /** Path and query as received. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The key, unquoted when it came as an sf-string. */
  idempotencyKey: string | undefined;
  /** The header value exactly as received. */
  idempotencyHeader: string | undefined;
  receivedAt: number;
  /** The fault injected into this request, if any. */
  fault: FlakyFaultKind | undefined;
  /** The status answered; `undefined` while pending or when the connection was dropped. */
  status: number | undefined;
  outcome: FlakyOutcome;
}

export interface FlakyApiStats {
  requests: number;
  /** Answers written, by status. */
  byStatus: Record<number, number>;
  /** Faults injected, by kind. */
  faults: Record<FlakyFaultKind, number>;
  charges: number;
  replays: number;
  /** 409s: a key came back while its first request was in flight. */
  conflicts: number;
  /** 422s: a key came back with a different body. */
  mismatches: number;
  /** 429s sent by the rate limit (429 faults are counted under `faults.status`). */
  rateLimited: number;
  /** Most requests that arrived in any one rate-limit window (rejected ones included). */
  maxInWindow: number;
  /** Connections destroyed instead of answered. */
  dropped: number;
}

export interface FlakyApi {
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  /** Every charge made, in commit order. */
  ledger: FlakyCharge[];
  /** Every request received, in arrival order (empty when `recordRequests` is off). */
  requests: FlakyRequest[];
  stats: FlakyApiStats;
  /** The charges made under each key (keyless charges are left out). */
  chargesByKey(): Map<string, FlakyCharge[]>;
  /** Appends steps to the script: the next requests to `/charges` routes get these faults. */
  schedule(...steps: FlakyScriptStep[]): void;
  /** Stops listening, destroys open connections and clears every pending timer. */
  close(): Promise<void>;
}

const RATE_FAULTS: ReadonlyArray<[keyof FlakyFaultRates, (options: ResolvedFaultSettings) => FlakyFault]> = [
  ['status429', (settings) => statusFault(429, settings)],
  ['status500', (settings) => statusFault(500, settings)],
  ['status502', (settings) => statusFault(502, settings)],
  ['status503', (settings) => statusFault(503, settings)],
  ['status504', (settings) => statusFault(504, settings)],
  ['reset', () => ({ kind: 'reset' })],
  ['delay', (settings) => ({ kind: 'delay', ms: settings.delayMs })],
  ['commitThenDrop', () => ({ kind: 'commit-then-drop' })],
  ['commitThenDelay', (settings) => ({ kind: 'commit-then-delay', ms: settings.commitDelayMs })],
];

interface ResolvedFaultSettings {
  delayMs: number;
  commitDelayMs: number;
  faultRetryAfterMs: number | undefined;
}

function statusFault(status: number, settings: ResolvedFaultSettings): FlakyFault {
  return status === 429 || status === 503
    ? { kind: 'status', status, retryAfterMs: settings.faultRetryAfterMs }
    : { kind: 'status', status };
}

function fail(path: string, expected: string, value: unknown): never {
  throw new TypeError(`${path}: expected ${expected}, got ${JSON.stringify(value) ?? String(value)}`);
}

function checkNonNegative(path: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) fail(path, 'a finite number >= 0', value);
  return value;
}

function checkRates(path: string, rates: FlakyFaultRates | undefined): FlakyFaultRates | undefined {
  if (rates === undefined) return undefined;
  if (typeof rates !== 'object' || rates === null) fail(path, 'an object of fault rates', rates);
  let total = 0;
  for (const [name, rate] of Object.entries(rates)) {
    if (!RATE_FAULTS.some(([known]) => known === name)) {
      fail(`${path}.${name}`, `one of ${RATE_FAULTS.map(([known]) => known).join(', ')}`, name);
    }
    if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) fail(`${path}.${name}`, 'a rate from 0 to 1', rate);
    total += rate;
  }
  if (total > 1 + 1e-9) fail(path, 'rates summing to at most 1', total);
  return rates;
}

function normaliseStep(step: FlakyScriptStep, settings: ResolvedFaultSettings, path: string): FlakyFault | null {
  if (step === null) return null;
  if (typeof step === 'number') {
    if (!Number.isInteger(step) || step < 100 || step > 599) fail(path, 'an HTTP status', step);
    return statusFault(step, settings);
  }
  if (step === 'reset') return { kind: 'reset' };
  if (step === 'commit-then-drop') return { kind: 'commit-then-drop' };
  if (step === 'commit-then-delay') return { kind: 'commit-then-delay', ms: settings.commitDelayMs };
  if (typeof step === 'object' && typeof step.kind === 'string') {
    if (step.kind === 'status' && !(Number.isInteger(step.status) && step.status >= 100 && step.status <= 599)) {
      fail(`${path}.status`, 'an HTTP status', step.status);
    }
    if (step.kind === 'delay') checkNonNegative(`${path}.ms`, step.ms);
    if (step.kind === 'commit-then-delay') return { ...step, ms: step.ms ?? settings.commitDelayMs };
    if (['status', 'reset', 'delay', 'commit-then-drop'].includes(step.kind)) return step;
  }
  return fail(path, 'a fault, a status code, a fault name or null', step);
}

/** Admission and accounting of the optional rate limit. */
interface RateWindow {
  admit(now: number): { allowed: boolean; remaining: number; resetMs: number; retryAfterMs: number };
  readonly maxInWindow: number;
}

/** Timestamps in arrival order with a moving head, so pruning is O(1) amortised. */
class TimestampLog {
  private items: number[] = [];
  private head = 0;

  prune(olderThanOrAt: number): void {
    while (this.head < this.items.length && this.items[this.head] <= olderThanOrAt) this.head += 1;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  push(at: number): void {
    this.items.push(at);
  }

  get length(): number {
    return this.items.length - this.head;
  }

  /** The n-th oldest timestamp still held (0 = oldest). */
  at(index: number): number {
    return this.items[this.head + index];
  }
}

function slidingWindow(limit: number, windowMs: number, countRejected: boolean): RateWindow {
  const arrivals = new TimestampLog();
  const admitted = countRejected ? arrivals : new TimestampLog();
  let maxInWindow = 0;
  return {
    admit(now) {
      arrivals.prune(now - windowMs);
      if (!countRejected) admitted.prune(now - windowMs);
      const allowed = admitted.length < limit;
      arrivals.push(now);
      if (!countRejected && allowed) admitted.push(now);
      maxInWindow = Math.max(maxInWindow, arrivals.length);
      const held = admitted.length;
      // The window has room again once enough of the oldest counted requests have aged out of it.
      const mustExpire = held - limit + 1;
      const retryAfterMs = mustExpire > 0 ? Math.max(0, admitted.at(mustExpire - 1) + windowMs - now) : 0;
      const resetMs = held > 0 ? Math.max(0, admitted.at(0) + windowMs - now) : 0;
      return { allowed, remaining: Math.max(0, limit - held), resetMs, retryAfterMs };
    },
    get maxInWindow() {
      return maxInWindow;
    },
  };
}

function fixedWindow(limit: number, windowMs: number, countRejected: boolean): RateWindow {
  let window = -1;
  let arrivals = 0;
  let counted = 0;
  let maxInWindow = 0;
  return {
    admit(now) {
      const current = Math.floor(now / windowMs);
      if (current !== window) {
        window = current;
        arrivals = 0;
        counted = 0;
      }
      const allowed = counted < limit;
      arrivals += 1;
      if (allowed || countRejected) counted += 1;
      maxInWindow = Math.max(maxInWindow, arrivals);
      const resetMs = (current + 1) * windowMs - now;
      return { allowed, remaining: Math.max(0, limit - counted), resetMs, retryAfterMs: allowed ? 0 : resetMs };
    },
    get maxInWindow() {
      return maxInWindow;
    },
  };
}

function checkRateLimit(rateLimit: FlakyRateLimit | undefined): RateWindow | undefined {
  if (rateLimit === undefined) return undefined;
  if (typeof rateLimit !== 'object' || rateLimit === null) fail('rateLimit', 'an object', rateLimit);
  const { limit, windowMs, algorithm = 'sliding', countRejected = true } = rateLimit;
  if (!Number.isInteger(limit) || limit < 1) fail('rateLimit.limit', 'a positive integer', limit);
  if (typeof windowMs !== 'number' || !Number.isFinite(windowMs) || windowMs <= 0) {
    fail('rateLimit.windowMs', 'a finite number > 0', windowMs);
  }
  if (algorithm !== 'sliding' && algorithm !== 'fixed') fail('rateLimit.algorithm', "'sliding' or 'fixed'", algorithm);
  return algorithm === 'sliding'
    ? slidingWindow(limit, windowMs, countRejected)
    : fixedWindow(limit, windowMs, countRejected);
}

/** The key inside a header value: an sf-string (`"key"`) is unquoted, anything else taken as it is. */
function unquoteKey(value: string): string {
  const match = /^"((?:[^"\\]|\\["\\])*)"$/.exec(value.trim());
  return match ? match[1].replace(/\\(["\\])/g, '$1') : value;
}

function parseCharge(raw: string, contentType: string | undefined): Record<string, unknown> | undefined {
  if (contentType?.includes('application/x-www-form-urlencoded')) {
    return Object.fromEntries(new URLSearchParams(raw));
  }
  try {
    const parsed: unknown = JSON.parse(raw);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

interface StoredResult {
  state: 'in-flight' | 'done';
  /** The body the key was first used with, canonicalised. */
  payload: string;
  status?: number;
  body?: unknown;
}

interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** Starts the flaky payments API on a free loopback port. */
export async function startFlakyApi(options: FlakyApiOptions = {}): Promise<FlakyApi> {
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options);
  const settings: ResolvedFaultSettings = {
    delayMs: checkNonNegative('delayMs', options.delayMs) ?? 50,
    commitDelayMs: checkNonNegative('commitDelayMs', options.commitDelayMs) ?? 1_000,
    faultRetryAfterMs: checkNonNegative('faultRetryAfterMs', options.faultRetryAfterMs),
  };
  const processingDelayMs = checkNonNegative('processingDelayMs', options.processingDelayMs) ?? 0;
  const everyRequestRates = checkRates('faults', options.faults);
  const firstAttemptRates = checkRates('firstAttemptFaults', options.firstAttemptFaults);
  const rateWindow = checkRateLimit(options.rateLimit);
  const rateLimit = options.rateLimit;
  const random = seededRandom(options.seed ?? 1);
  const keyHeader = (options.idempotencyHeader ?? 'Idempotency-Key').toLowerCase();
  const recordRequests = options.recordRequests ?? true;
  const corsHeaders: Record<string, string> = options.cors
    ? {
        'access-control-allow-origin': '*',
        'access-control-expose-headers':
          'retry-after, retry-after-ms, idempotent-replayed, x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset',
      }
    : {};
  if (options.script !== undefined && !Array.isArray(options.script)) fail('script', 'an array', options.script);
  const script: (FlakyFault | null)[] = (options.script ?? []).map((step, index) =>
    normaliseStep(step, settings, `script[${index}]`),
  );

  const ledger: FlakyCharge[] = [];
  const chargesById = new Map<string, FlakyCharge>();
  const requests: FlakyRequest[] = [];
  const store = new Map<string, StoredResult>();
  const seenKeys = new Set<string>();
  const stats: FlakyApiStats = {
    requests: 0,
    byStatus: {},
    faults: { status: 0, reset: 0, delay: 0, 'commit-then-drop': 0, 'commit-then-delay': 0 },
    charges: 0,
    replays: 0,
    conflicts: 0,
    mismatches: 0,
    rateLimited: 0,
    maxInWindow: 0,
    dropped: 0,
  };
  const pendingWaits = new Map<ReturnType<typeof setTimeout>, () => void>();
  let closed = false;

  /** A wait that `close()` cuts short, so no timer outlives the server. */
  function wait(ms: number): Promise<void> {
    if (ms <= 0 || closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        pendingWaits.delete(timer);
        resolve();
      }, ms);
      pendingWaits.set(timer, resolve);
    });
  }

  function drawFault(rates: FlakyFaultRates | undefined): FlakyFault | null {
    if (!rates) return null;
    const roll = random();
    let cumulative = 0;
    for (const [name, make] of RATE_FAULTS) {
      cumulative += rates[name] ?? 0;
      if (roll < cumulative) return make(settings);
    }
    return null;
  }

  function nextFault(firstAttempt: boolean): FlakyFault | null {
    if (script.length > 0) return script.shift() ?? null;
    return drawFault(everyRequestRates) ?? (firstAttempt ? drawFault(firstAttemptRates) : null);
  }

  function send(response: ServerResponse, record: FlakyRequest, answer: Answer, outcome: FlakyOutcome): void {
    // The client may have given up (its timeout) before a held-back answer: what happened still counts.
    record.outcome = outcome;
    if (response.destroyed || response.writableEnded || response.socket?.destroyed) return;
    const payload = JSON.stringify(answer.body);
    response.writeHead(answer.status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(payload),
      ...corsHeaders,
      ...answer.headers,
    });
    response.end(payload);
    stats.byStatus[answer.status] = (stats.byStatus[answer.status] ?? 0) + 1;
    record.status = answer.status;
  }

  function drop(response: ServerResponse, record: FlakyRequest, outcome: FlakyOutcome): void {
    const socket = response.socket as (Socket & { resetAndDestroy?: () => void }) | null;
    if (socket && typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
    else response.destroy();
    stats.dropped += 1;
    record.outcome = outcome;
  }

  /** Sends the answer as the fault demands: now, dropped, or held back past the client's timeout. */
  async function deliver(
    response: ServerResponse,
    record: FlakyRequest,
    fault: FlakyFault | null,
    answer: Answer,
    outcome: FlakyOutcome,
  ): Promise<void> {
    if (fault?.kind === 'commit-then-drop') return drop(response, record, outcome);
    if (fault?.kind === 'commit-then-delay') {
      // The work is done; only the answer is held back.
      record.outcome = outcome;
      await wait(fault.ms ?? settings.commitDelayMs);
      if (closed) return;
    }
    send(response, record, answer, outcome);
  }

  function quotaHeaders(decision: ReturnType<RateWindow['admit']> | undefined): Record<string, string> {
    if (!decision || !rateLimit?.quotaHeaders) return {};
    return {
      'x-ratelimit-limit': String(rateLimit.limit),
      'x-ratelimit-remaining': String(decision.remaining),
      'x-ratelimit-reset': String(Math.ceil(decision.resetMs / 1000)),
    };
  }

  function retryAfterHeaders(ms: number, withMs: boolean): Record<string, string> {
    const headers: Record<string, string> = { 'retry-after': String(Math.ceil(ms / 1000)) };
    if (withMs) headers['retry-after-ms'] = String(Math.ceil(ms));
    return headers;
  }

  /**
   * Plays the part of a fault that happens before the work: a status answer, a reset, or a delay. True
   * when the request is finished with (answered, dropped, or the server closed meanwhile).
   */
  async function faultBeforeProcessing(
    response: ServerResponse,
    record: FlakyRequest,
    fault: FlakyFault | null,
    extraHeaders: Record<string, string>,
  ): Promise<boolean> {
    if (!fault) return false;
    stats.faults[fault.kind] += 1;
    record.fault = fault.kind;
    if (fault.kind === 'status') {
      const retryAfter = fault.retryAfterMs === undefined ? {} : retryAfterHeaders(fault.retryAfterMs, true);
      const answer = {
        status: fault.status,
        body: { error: { type: 'api_error', message: `Injected fault: ${fault.status}` } },
        headers: { ...extraHeaders, ...retryAfter, ...fault.headers },
      };
      send(response, record, answer, 'fault');
      return true;
    }
    if (fault.kind === 'reset') {
      drop(response, record, 'fault');
      return true;
    }
    if (fault.kind === 'delay') await wait(fault.ms);
    return closed;
  }

  async function handleCharge(
    response: ServerResponse,
    record: FlakyRequest,
    rawHeaders: IncomingHttpHeaders,
    extraHeaders: Record<string, string>,
  ): Promise<void> {
    const key = record.idempotencyKey;
    const charge = parseCharge(record.body, rawHeaders['content-type']);
    const firstAttempt = key === undefined || !seenKeys.has(key);
    if (key !== undefined) seenKeys.add(key);
    const fault = nextFault(firstAttempt);
    if (await faultBeforeProcessing(response, record, fault, extraHeaders)) return;

    if (!charge) {
      const error = { error: { type: 'invalid_request_error', message: 'Body must be a JSON or form object' } };
      return deliver(response, record, fault, { status: 400, body: error, headers: extraHeaders }, 'bad-request');
    }
    if (key === undefined && options.requireIdempotencyKey) {
      const error = { error: { type: 'invalid_request_error', message: `Missing ${keyHeader} header` } };
      return deliver(response, record, fault, { status: 400, body: error, headers: extraHeaders }, 'bad-request');
    }
    const payload = JSON.stringify(charge);
    if (key !== undefined) {
      const stored = store.get(key);
      if (stored && stored.payload !== payload) {
        stats.mismatches += 1;
        const error = {
          error: {
            type: 'idempotency_error',
            message:
              'Keys for idempotent requests can only be used with the same parameters they were first used with.',
          },
        };
        return deliver(response, record, fault, { status: 422, body: error, headers: extraHeaders }, 'mismatch');
      }
      if (stored?.state === 'in-flight') {
        stats.conflicts += 1;
        const error = { error: { type: 'idempotency_error', message: 'A request with this key is in progress.' } };
        return deliver(response, record, fault, { status: 409, body: error, headers: extraHeaders }, 'conflict');
      }
      if (stored) {
        stats.replays += 1;
        const answer = {
          status: stored.status ?? 200,
          body: stored.body,
          headers: { ...extraHeaders, 'idempotent-replayed': 'true' },
        };
        return deliver(response, record, fault, answer, 'replayed');
      }
      store.set(key, { state: 'in-flight', payload });
    }

    // The charge goes through whatever happens to the connection meanwhile, as on a real payments API.
    await wait(processingDelayMs);
    if (closed) return;
    const made: FlakyCharge = {
      id: `ch_${ledger.length + 1}`,
      idempotencyKey: key,
      body: charge,
      createdAt: Date.now(),
    };
    ledger.push(made);
    chargesById.set(made.id, made);
    stats.charges += 1;
    const body = { ...charge, id: made.id, object: 'charge', created: made.createdAt };
    if (key !== undefined) store.set(key, { state: 'done', payload, status: 200, body });
    return deliver(response, record, fault, { status: 200, body, headers: extraHeaders }, 'charged');
  }

  async function handleGetCharge(
    response: ServerResponse,
    record: FlakyRequest,
    id: string,
    extraHeaders: Record<string, string>,
  ): Promise<void> {
    const fault = nextFault(false);
    if (await faultBeforeProcessing(response, record, fault, extraHeaders)) return;
    const charge = chargesById.get(id);
    const answer: Answer = charge
      ? {
          status: 200,
          body: { ...charge.body, id: charge.id, object: 'charge', created: charge.createdAt },
          headers: extraHeaders,
        }
      : {
          status: 404,
          body: { error: { type: 'invalid_request_error', message: `No such charge: ${id}` } },
          headers: extraHeaders,
        };
    return deliver(response, record, fault, answer, charge ? 'ok' : 'not-found');
  }

  async function handle(raw: IncomingMessage, response: ServerResponse): Promise<void> {
    if (options.cors && raw.method === 'OPTIONS') {
      await readBody(raw);
      response.writeHead(204, {
        ...corsHeaders,
        'access-control-allow-methods': 'GET, POST, OPTIONS',
        'access-control-allow-headers':
          raw.headers['access-control-request-headers'] ?? 'content-type, idempotency-key',
        'access-control-max-age': '600',
      });
      response.end();
      return;
    }
    const receivedAt = Date.now();
    const bytes = await readBody(raw);
    stats.requests += 1;
    const keyValue = raw.headers[keyHeader];
    const idempotencyHeader = Array.isArray(keyValue) ? keyValue[0] : keyValue;
    const record: FlakyRequest = {
      sequence: stats.requests,
      method: raw.method ?? 'GET',
      url: raw.url ?? '/',
      headers: raw.headers,
      body: bytes.toString('utf8'),
      idempotencyKey:
        idempotencyHeader === undefined || idempotencyHeader === '' ? undefined : unquoteKey(idempotencyHeader),
      idempotencyHeader,
      receivedAt,
      fault: undefined,
      status: undefined,
      outcome: 'pending',
    };
    if (recordRequests) requests.push(record);
    if (closed) return drop(response, record, 'closed');

    const path = record.url.split('?')[0];
    if (record.method === 'GET' && path === '/health')
      return send(response, record, { status: 200, body: { ok: true } }, 'ok');
    const chargeMatch = /^\/charges(?:\/([^/]+))?\/?$/.exec(path);
    const isCreate = record.method === 'POST' && chargeMatch !== null && chargeMatch[1] === undefined;
    const isRead = record.method === 'GET' && chargeMatch !== null && chargeMatch[1] !== undefined;
    if (!isCreate && !isRead) {
      const error = { error: { type: 'invalid_request_error', message: `No route for ${record.method} ${path}` } };
      return send(response, record, { status: 404, body: error }, 'not-found');
    }

    let decision: ReturnType<RateWindow['admit']> | undefined;
    if (rateWindow) {
      decision = rateWindow.admit(receivedAt);
      stats.maxInWindow = rateWindow.maxInWindow;
      if (!decision.allowed) {
        stats.rateLimited += 1;
        const headers = {
          ...quotaHeaders(decision),
          ...retryAfterHeaders(decision.retryAfterMs, rateLimit?.retryAfterMs ?? true),
        };
        const error = { error: { type: 'rate_limit_error', message: 'Too many requests' } };
        return send(response, record, { status: 429, body: error, headers }, 'rate-limited');
      }
    }
    const extraHeaders = quotaHeaders(decision);
    if (isCreate) return handleCharge(response, record, raw.headers, extraHeaders);
    return handleGetCharge(response, record, decodeURIComponent(chargeMatch?.[1] ?? ''), extraHeaders);
  }

  const listening = await listenOnLoopback((raw, response) => {
    handle(raw, response).catch(() => {
      if (!response.headersSent && !response.destroyed) {
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { type: 'api_error', message: 'Internal error' } }));
      } else {
        response.destroy();
      }
    });
  });

  return {
    url: listening.url,
    port: listening.port,
    ledger,
    requests,
    stats,
    chargesByKey() {
      const byKey = new Map<string, FlakyCharge[]>();
      for (const charge of ledger) {
        if (charge.idempotencyKey === undefined) continue;
        const list = byKey.get(charge.idempotencyKey);
        if (list) list.push(charge);
        else byKey.set(charge.idempotencyKey, [charge]);
      }
      return byKey;
    },
    schedule(...steps) {
      const start = script.length;
      script.push(...steps.map((step, index) => normaliseStep(step, settings, `schedule[${start + index}]`)));
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const [timer, resolve] of pendingWaits) {
        clearTimeout(timer);
        resolve();
      }
      pendingWaits.clear();
      await listening.close();
    },
  };
}
