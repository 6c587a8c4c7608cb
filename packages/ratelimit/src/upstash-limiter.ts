import {
  assertClock,
  assertFunction,
  assertKnownKeys,
  assertNonEmptyString,
  assertNonNegativeNumber,
  assertOneOf,
  assertPlainObject,
  assertPositiveInteger,
  assertPositiveNumber,
  optionError,
  RateLimitedError,
  systemClock,
  type Clock,
} from '@axios-resilience/core';
import { NO_OP_PERMIT, type AcquireOptions, type RateLimiter, type RateLimitPermit } from './limiter';
import type { UpstashLimitResponse, UpstashRatelimitLike, UpstashRedisLike } from './upstash-types';
import { WaitLine, type GateAnswer, type LineHead } from './wait-line';
import { WINDOW_BOOKING_SCRIPT, WINDOW_BOOKING_SCRIPT_SHA1 } from './window-booking-script';

/** What happens to requests while Redis cannot be reached. */
export type StoreFailurePolicy = 'local' | 'open' | 'closed';

/** Every `StoreFailurePolicy`: the values `storeFailure` accepts. */
export const STORE_FAILURE_POLICIES: readonly StoreFailurePolicy[] = ['local', 'open', 'closed'];

/** What `onStoreError` receives. */
export interface StoreErrorState {
  /** Why the store call failed (a connection error, a Redis error, or a timeout). */
  error: unknown;
  /** The rate-limit key the call was for. */
  key: string;
  /** `'limit'`: taking a token; `'pause'`: writing a learned pause. */
  operation: 'limit' | 'pause';
  /** The policy now applied to requests. */
  policy: StoreFailurePolicy;
  /** Store failures in a row, this one included. */
  consecutiveFailures: number;
}

/**
 * Options of `upstashLimiter`: where the budget lives (the user's `Ratelimit`, or the limiter's own fixed
 * window given by `limit` and `intervalMs`), the Redis client, and what to do when Redis is down.
 */
export interface UpstashLimiterOptions {
  /**
   * The user's `Ratelimit` from `@upstash/ratelimit`, any algorithm. Give either this or `limit` with
   * `intervalMs`. A request Redis refuses (its window is full) costs a round trip and asks again after the reset.
   * @default undefined
   */
  ratelimit?: UpstashRatelimitLike;
  /**
   * Sends per window for the limiter's own fixed window in Redis (instead of a `Ratelimit`): windows aligned
   * to the epoch in Redis's time, like `Ratelimit.fixedWindow`. A full window is never refused: the ask
   * books sends in the next window with room and the request waits for it, so every round trip grants what
   * it was made for, and one round trip books a send for every request waiting in this process (at most
   * `limit`). Needs `intervalMs`, and `eval`/`evalsha` on `redis` (any `@upstash/redis` client has them).
   * @default undefined
   */
  limit?: number;
  /**
   * The window of `limit`, in whole milliseconds.
   * @default undefined
   */
  intervalMs?: number;
  /**
   * With `limit`: a send that would leave less than this before its window's end is booked in the next
   * window instead, so it cannot reach the server after the window closed.
   * @default 25
   */
  marginMs?: number;
  /**
   * The `@upstash/redis` client: the one the `Ratelimit` was built with, or any client with `limit`.
   * Required: shared pauses live in it, and with a `Ratelimit` being the same client lets the pause read ride
   * in the same auto-pipelined request as the limit call.
   */
  redis: UpstashRedisLike;
  /**
   * While Redis cannot be reached: `'local'` takes tokens from `fallback` (an in-memory limiter with the
   * same limit), `'open'` lets requests pass unlimited, `'closed'` rejects them with `ERR_RATE_LIMITED`
   * and the store error as `cause`.
   * @default 'local'
   */
  storeFailure?: StoreFailurePolicy;
  /**
   * The limiter `'local'` falls back to, for example `memoryLimiter({ limit: 30, intervalMs: 1000 })`
   * mirroring the `Ratelimit`'s budget. Required with `'local'`: a `Ratelimit` does not reveal its limit.
   * @default undefined
   */
  fallback?: RateLimiter;
  /**
   * Reports each failed store call, without being awaited. Errors it throws are ignored.
   * @default undefined
   */
  onStoreError?: (state: StoreErrorState) => void | Promise<void>;
  /**
   * Prefix of the keys this limiter writes to Redis itself (the shared pauses: `<prefix>:pause:<key>`).
   * @default 'axios-resilience:ratelimit'
   */
  prefix?: string;
  /**
   * The longest one store call may take before it counts as a failure.
   * @default 5_000
   */
  storeTimeoutMs?: number;
  /**
   * After a store failure, how long the policy applies before Redis is asked again, so an outage costs
   * one failed call per period rather than one per request.
   * @default 1_000
   */
  storeRetryMs?: number;
  /**
   * The time pauses and store timeouts are measured in, and the timers waiters sleep on. The budget itself
   * is timed by Redis.
   * @default the global timers, read at call time
   */
  clock?: Clock;
}

/** Upstash-limiter options with every default filled in and every value checked. */
export interface ResolvedUpstashLimiterOptions {
  /** See `UpstashLimiterOptions.ratelimit`; `undefined` when the limiter keeps its own window. */
  ratelimit: UpstashRatelimitLike | undefined;
  /** See `UpstashLimiterOptions.limit`; `undefined` with a `Ratelimit`. */
  limit: number | undefined;
  /** See `UpstashLimiterOptions.intervalMs`; `undefined` with a `Ratelimit`. */
  intervalMs: number | undefined;
  /** See `UpstashLimiterOptions.marginMs`. */
  marginMs: number;
  /** See `UpstashLimiterOptions.redis`. */
  redis: UpstashRedisLike;
  /** See `UpstashLimiterOptions.storeFailure`. */
  storeFailure: StoreFailurePolicy;
  /** See `UpstashLimiterOptions.fallback`; always set when `storeFailure` is `'local'`. */
  fallback: RateLimiter | undefined;
  /** See `UpstashLimiterOptions.onStoreError`. */
  onStoreError: UpstashLimiterOptions['onStoreError'];
  /** See `UpstashLimiterOptions.prefix`. */
  prefix: string;
  /** See `UpstashLimiterOptions.storeTimeoutMs`. */
  storeTimeoutMs: number;
  /** See `UpstashLimiterOptions.storeRetryMs`. */
  storeRetryMs: number;
  /** See `UpstashLimiterOptions.clock`. */
  clock: Clock;
}

/** The defaults of the optional fields; the budget, `redis` and (with `'local'`) `fallback` have none. */
export const DEFAULT_UPSTASH_LIMITER_OPTIONS = Object.freeze({
  marginMs: 25,
  storeFailure: 'local' as StoreFailurePolicy,
  prefix: 'axios-resilience:ratelimit',
  storeTimeoutMs: 5_000,
  storeRetryMs: 1_000,
  clock: systemClock,
});

const KNOWN_KEYS = [
  'ratelimit',
  'limit',
  'intervalMs',
  'marginMs',
  'redis',
  'storeFailure',
  'fallback',
  'onStoreError',
  'prefix',
  'storeTimeoutMs',
  'storeRetryMs',
  'clock',
];

function assertLimiter(path: string, value: unknown): asserts value is RateLimiter {
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof (value as RateLimiter).acquire !== 'function' ||
    typeof (value as RateLimiter).pause !== 'function'
  ) {
    throw optionError(path, 'a rate limiter (an object with acquire and pause, e.g. memoryLimiter(...))', value);
  }
}

/**
 * Validates `upstashLimiter` options and fills in the defaults. A wrong option throws a `TypeError`
 * naming it (prefixed with `path`), what was expected and what was given.
 */
export function resolveUpstashLimiterOptions(
  options: UpstashLimiterOptions,
  path = 'upstashLimiter',
): ResolvedUpstashLimiterOptions {
  assertPlainObject(path, options);
  assertKnownKeys(path, options as unknown as Record<string, unknown>, KNOWN_KEYS);
  const ownWindow = options.limit !== undefined || options.intervalMs !== undefined;
  if (options.ratelimit !== undefined && ownWindow) {
    throw optionError(
      `${path}.ratelimit`,
      'either a Ratelimit or limit with intervalMs, not both (the budget would live in two places)',
      options.ratelimit,
    );
  }
  let marginMs: number = DEFAULT_UPSTASH_LIMITER_OPTIONS.marginMs;
  if (ownWindow) {
    assertPositiveInteger(`${path}.limit`, options.limit);
    assertPositiveInteger(`${path}.intervalMs`, options.intervalMs);
    marginMs = options.marginMs ?? marginMs;
    assertNonNegativeNumber(`${path}.marginMs`, marginMs);
    if (marginMs >= options.intervalMs) {
      throw optionError(`${path}.marginMs`, `less than intervalMs (${options.intervalMs})`, marginMs);
    }
  } else {
    if (typeof options.ratelimit?.limit !== 'function') {
      throw optionError(
        `${path}.ratelimit`,
        'a Ratelimit from @upstash/ratelimit (an object with limit()), or limit and intervalMs for the ' +
          "limiter's own fixed window",
        options.ratelimit,
      );
    }
    if (options.marginMs !== undefined) {
      throw optionError(
        `${path}.marginMs`,
        'undefined with a Ratelimit (it applies to limit and intervalMs)',
        options.marginMs,
      );
    }
  }
  const redis = options.redis as Partial<UpstashRedisLike> | undefined;
  if (typeof redis?.getex !== 'function' || typeof redis.set !== 'function') {
    throw optionError(`${path}.redis`, 'a Redis client from @upstash/redis (with getex() and set())', options.redis);
  }
  if (ownWindow && (typeof redis.eval !== 'function' || typeof redis.evalsha !== 'function')) {
    throw optionError(`${path}.redis`, 'a Redis client from @upstash/redis (with eval() and evalsha())', options.redis);
  }
  const storeFailure = options.storeFailure ?? DEFAULT_UPSTASH_LIMITER_OPTIONS.storeFailure;
  assertOneOf(`${path}.storeFailure`, storeFailure, STORE_FAILURE_POLICIES);
  if (options.fallback !== undefined) assertLimiter(`${path}.fallback`, options.fallback);
  if (storeFailure === 'local' && options.fallback === undefined) {
    throw optionError(
      `${path}.fallback`,
      "a limiter to use while Redis is unreachable (storeFailure 'local' needs one, e.g. memoryLimiter({ limit, intervalMs }) with the Ratelimit's budget; or choose storeFailure 'open' or 'closed')",
      options.fallback,
    );
  }
  if (options.onStoreError !== undefined) assertFunction(`${path}.onStoreError`, options.onStoreError);
  const prefix = options.prefix ?? DEFAULT_UPSTASH_LIMITER_OPTIONS.prefix;
  assertNonEmptyString(`${path}.prefix`, prefix);
  const storeTimeoutMs = options.storeTimeoutMs ?? DEFAULT_UPSTASH_LIMITER_OPTIONS.storeTimeoutMs;
  assertPositiveNumber(`${path}.storeTimeoutMs`, storeTimeoutMs);
  const storeRetryMs = options.storeRetryMs ?? DEFAULT_UPSTASH_LIMITER_OPTIONS.storeRetryMs;
  assertNonNegativeNumber(`${path}.storeRetryMs`, storeRetryMs);
  const clock = options.clock ?? DEFAULT_UPSTASH_LIMITER_OPTIONS.clock;
  assertClock(`${path}.clock`, clock);
  return {
    ratelimit: ownWindow ? undefined : options.ratelimit,
    limit: ownWindow ? options.limit : undefined,
    intervalMs: ownWindow ? options.intervalMs : undefined,
    marginMs,
    redis: options.redis,
    storeFailure,
    fallback: options.fallback,
    onStoreError: options.onStoreError,
    prefix,
    storeTimeoutMs,
    storeRetryMs,
    clock,
  };
}

/** An Upstash-backed limiter, with its store health exposed for tests and metrics. */
export interface UpstashLimiter extends RateLimiter {
  /** The options it was made with, defaults filled in (frozen). */
  readonly options: Readonly<ResolvedUpstashLimiterOptions>;
  /** Requests waiting for a token on `key` in this process. */
  waiting(key: string): number;
  /** `true` while the last store call failed and the store-failure policy applies. */
  readonly storeDown: boolean;
}

class StoreTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreTimeoutError';
  }
}

/** Epoch ms from what `GETEX` returned (the client may have parsed the number already). */
function parsePauseValue(value: unknown): number | undefined {
  const number = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  return Number.isFinite(number) ? number : undefined;
}

/** What the window-booking script answered, read from the array Redis returns. */
type BookingAnswer =
  | { kind: 'booked'; granted: number; startsInMs: number; endsInMs: number }
  | { kind: 'paused'; untilMs: number }
  | { kind: 'beyond-horizon'; startsInMs: number };

function readBookingAnswer(value: unknown): BookingAnswer {
  const fields = Array.isArray(value) ? value.map(Number) : [];
  if (fields.length >= 4 && fields[0] === 1 && fields.every(Number.isFinite) && fields[1] >= 1) {
    return { kind: 'booked', granted: fields[1], startsInMs: fields[2], endsInMs: fields[3] };
  }
  if (fields.length >= 2 && fields[0] === 0 && Number.isFinite(fields[1]))
    return { kind: 'paused', untilMs: fields[1] };
  if (fields.length >= 2 && fields[0] === -1 && Number.isFinite(fields[1])) {
    return { kind: 'beyond-horizon', startsInMs: fields[1] };
  }
  throw new Error(`The window-booking script answered something unexpected: ${JSON.stringify(value)}`);
}

/** Sends booked in one window for this process, handed to its waiters one by one (local clock). */
interface Booking {
  startsAt: number;
  /** Past this (the window's end less the margin) a send would land in the next window: the rest lapses. */
  lapsesAt: number;
  left: number;
}

function isNoScriptError(error: unknown): boolean {
  return error instanceof Error && /NOSCRIPT/i.test(error.message);
}

/**
 * A limiter whose budget lives in Redis, so every process shares it: either the user's `@upstash/ratelimit`
 * `Ratelimit` (a refused request waits until the `reset` Redis reported, then asks again) or, given `limit`
 * and `intervalMs`, the limiter's own fixed window, where an ask books sends in the earliest window with room
 * and is never refused. Waiters queue first in, first out within each process. Learned pauses are written to
 * Redis and read back with each ask, so every worker honours them at the cost of no extra round trip.
 */
export function upstashLimiter(options: UpstashLimiterOptions): UpstashLimiter {
  const resolved = resolveUpstashLimiterOptions(options);
  const {
    ratelimit,
    limit,
    intervalMs,
    marginMs,
    redis,
    storeFailure,
    fallback,
    onStoreError,
    prefix,
    storeTimeoutMs,
    storeRetryMs,
    clock,
  } = resolved;
  const pauses = new Map<string, number>();
  let storeDownUntil = -Infinity;
  let lastStoreError: unknown;
  let consecutiveFailures = 0;

  const pauseKey = (key: string) => `${prefix}:pause:${key}`;
  const windowKey = (key: string) => `${prefix}:window:${key}`;

  function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = clock.setTimeout(
        () => reject(new StoreTimeoutError(`Redis did not answer ${what} within ${storeTimeoutMs} ms`)),
        storeTimeoutMs,
      );
      promise.then(
        (value) => {
          clock.clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clock.clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  function reportStoreError(error: unknown, key: string, operation: StoreErrorState['operation']): void {
    consecutiveFailures += 1;
    if (!onStoreError) return;
    const state: StoreErrorState = { error, key, operation, policy: storeFailure, consecutiveFailures };
    try {
      Promise.resolve(onStoreError(state)).catch(() => {});
    } catch {
      // An observer that throws must not turn a store outage into a crash.
    }
  }

  function rememberPause(key: string, untilMs: number): void {
    if ((pauses.get(key) ?? -Infinity) < untilMs) pauses.set(key, untilMs);
  }

  async function whileStoreDown(key: string, head: LineHead): Promise<GateAnswer<RateLimitPermit>> {
    if (storeFailure === 'open') return { granted: true, permit: NO_OP_PERMIT };
    if (storeFailure === 'closed') {
      throw new RateLimitedError(`The rate-limit store is unavailable; no token for "${key}"`, key, {
        cause: lastStoreError,
      });
    }
    const permit = await fallback!.acquire(key, {
      signal: head.signal,
      maxWaitMs: Math.max(0, head.deadline - clock.now()),
    });
    return { granted: true, permit: permit ?? NO_OP_PERMIT };
  }

  /** A limit call failed: the store-failure policy applies for `storeRetryMs`, starting with this request. */
  function storeFailed(error: unknown, key: string, head: LineHead): Promise<GateAnswer<RateLimitPermit>> {
    lastStoreError = error;
    storeDownUntil = clock.now() + storeRetryMs;
    reportStoreError(error, key, 'limit');
    return whileStoreDown(key, head);
  }

  function storeAnswered(): void {
    storeDownUntil = -Infinity;
    consecutiveFailures = 0;
  }

  /** Keys whose window Redis said was used up (`remaining: 0`), until its reset. */
  const spent = new Map<string, number>();
  /** Sends booked by the window-booking script and not yet handed out, per key. */
  const bookings = new Map<string, Booking>();
  /** Whether Redis has been sent the script's text yet (after that, `EVALSHA` carries only its SHA-1). */
  let scriptSent = false;

  /** The time a local pause on `key` holds it until, or `undefined` when it holds nothing. */
  function localPause(key: string, now: number): number | undefined {
    const pausedUntil = pauses.get(key);
    if (pausedUntil === undefined) return undefined;
    if (pausedUntil > now) return pausedUntil;
    pauses.delete(key);
    return undefined;
  }

  function tryTake(key: string, head: LineHead): GateAnswer<RateLimitPermit> | Promise<GateAnswer<RateLimitPermit>> {
    return ratelimit ? tryLimit(ratelimit, key, head) : tryBook(key, head);
  }

  function runBookingScript(keys: string[], args: number[]): Promise<unknown> {
    if (!scriptSent) {
      scriptSent = true;
      return redis.eval!(WINDOW_BOOKING_SCRIPT, keys, args);
    }
    return redis.evalsha!(WINDOW_BOOKING_SCRIPT_SHA1, keys, args).catch((error: unknown) => {
      // Redis forgot the script (a restart, SCRIPT FLUSH): send its text once more.
      if (isNoScriptError(error)) return redis.eval!(WINDOW_BOOKING_SCRIPT, keys, args);
      throw error;
    });
  }

  function fromBooking(key: string, now: number): GateAnswer<RateLimitPermit> | undefined {
    const booking = bookings.get(key);
    if (booking === undefined) return undefined;
    if (now >= booking.lapsesAt) {
      bookings.delete(key);
      return undefined;
    }
    if (now < booking.startsAt) return { granted: false, retryAt: booking.startsAt };
    booking.left -= 1;
    if (booking.left === 0) bookings.delete(key);
    return { granted: true, permit: NO_OP_PERMIT };
  }

  async function tryBook(key: string, head: LineHead): Promise<GateAnswer<RateLimitPermit>> {
    const now = clock.now();
    const pausedUntil = localPause(key, now);
    if (pausedUntil !== undefined) return { granted: false, retryAt: pausedUntil };
    const booked = fromBooking(key, now);
    if (booked) return booked;
    if (now < storeDownUntil) return whileStoreDown(key, head);

    // One ask books a send for everyone waiting here now (the window permitting), not just the head.
    const wanted = Math.min(limit!, Math.max(1, line.waiting(key)));
    const horizonMs = Math.max(0, head.deadline - now);
    let answer: BookingAnswer;
    try {
      const reply = runBookingScript(
        [windowKey(key), pauseKey(key)],
        [limit!, intervalMs!, marginMs, Math.floor(horizonMs), wanted, Math.floor(now)],
      );
      answer = readBookingAnswer(await withTimeout(reply, 'the booking script'));
    } catch (error) {
      return storeFailed(error, key, head);
    }
    storeAnswered();

    const after = clock.now();
    if (answer.kind === 'paused') {
      rememberPause(key, answer.untilMs);
      return { granted: false, retryAt: Math.max(answer.untilMs, after) };
    }
    if (answer.kind === 'beyond-horizon') {
      // Nothing booked: the first free window starts after the head stops waiting, which its deadline reports.
      return { granted: false, retryAt: after + answer.startsInMs };
    }
    // Redis read its clock between `now` and `after`: starting from `after` and ending from `now` keeps the
    // booked window inside the real one, whatever the round trip took.
    const booking: Booking = {
      startsAt: after + answer.startsInMs,
      lapsesAt: now + answer.endsInMs - marginMs,
      left: answer.granted,
    };
    if (booking.startsAt >= booking.lapsesAt) return { granted: false, retryAt: after };
    bookings.set(key, booking);
    return fromBooking(key, after) ?? { granted: false, retryAt: after };
  }

  async function tryLimit(
    ratelimit: UpstashRatelimitLike,
    key: string,
    head: LineHead,
  ): Promise<GateAnswer<RateLimitPermit>> {
    const now = clock.now();
    const pausedUntil = localPause(key, now);
    if (pausedUntil !== undefined) return { granted: false, retryAt: pausedUntil };
    const spentUntil = spent.get(key);
    if (spentUntil !== undefined) {
      if (spentUntil > now) return { granted: false, retryAt: spentUntil };
      spent.delete(key);
    }
    if (now < storeDownUntil) return whileStoreDown(key, head);

    let response: UpstashLimitResponse;
    let pauseValue: unknown;
    try {
      // Both calls are issued in the same tick, without awaiting in between: the client's auto-pipelining
      // sends them in one HTTP request.
      const limitCall = ratelimit.limit(key);
      const pauseRead = redis.getex(pauseKey(key));
      pauseRead.catch(() => {});
      response = await withTimeout(limitCall, 'the limit call');
      if (response.reason === 'timeout') {
        throw new StoreTimeoutError('Ratelimit gave up waiting for Redis (reason "timeout")');
      }
      pauseValue = await withTimeout(pauseRead, 'the pause read');
    } catch (error) {
      return storeFailed(error, key, head);
    }
    storeAnswered();
    response.pending?.catch(() => {});

    const after = clock.now();
    const sharedPause = parsePauseValue(pauseValue);
    if (sharedPause !== undefined && sharedPause > after) {
      // A token taken during a pause is spent; asking again after the pause takes a fresh one.
      rememberPause(key, sharedPause);
      return { granted: false, retryAt: sharedPause };
    }
    if (response.success) {
      // A token that comes back after the window that counted it has closed would land in the next window
      // uncounted (a limit call straddling the edge): ask again instead. Rare, and only ever more conservative.
      if (Number.isFinite(response.reset) && response.reset > 0 && after >= response.reset) {
        return { granted: false, retryAt: after };
      }
      // The last token of the window: asking Redis again before its reset would only be refused, so wait
      // for the reset here (one round trip saved per window and process).
      if (response.remaining === 0 && Number.isFinite(response.reset) && response.reset > after) {
        spent.set(key, response.reset);
      }
      return { granted: true, permit: NO_OP_PERMIT };
    }
    const reset = Number.isFinite(response.reset) && response.reset > after ? response.reset : after + 10;
    return { granted: false, retryAt: reset };
  }

  const line = new WaitLine<RateLimitPermit>(
    {
      tryTake,
      discard(_key, permit) {
        permit.complete();
      },
    },
    clock,
  );

  return {
    options: Object.freeze({ ...resolved }),
    acquire(key: string, acquireOptions: AcquireOptions) {
      return line.acquire(key, acquireOptions);
    },
    async pause(key: string, untilMs: number) {
      if (!Number.isFinite(untilMs)) return;
      const now = clock.now();
      if (untilMs <= now) return;
      rememberPause(key, untilMs);
      try {
        await withTimeout(
          redis.set(pauseKey(key), String(Math.ceil(untilMs)), { px: Math.ceil(untilMs - now) }),
          'the pause write',
        );
      } catch (error) {
        reportStoreError(error, key, 'pause');
      }
    },
    waiting: (key) => line.waiting(key),
    get storeDown() {
      return clock.now() < storeDownUntil;
    },
  };
}
