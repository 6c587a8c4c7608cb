import {
  assertClock,
  assertKnownKeys,
  assertNonNegativeNumber,
  assertOneOf,
  assertPlainObject,
  assertPositiveInteger,
  assertPositiveNumber,
  optionError,
  systemClock,
  type Clock,
} from '@axios-resilience/core';
import { FixedWindow } from './fixed-window';
import { NO_OP_PERMIT, type AcquireOptions, type RateLimiter, type RateLimitPermit } from './limiter';
import { SlidingLog, type LogEntry, type SendSettler, type StampAt } from './sliding-log';
import { TokenBucket } from './token-bucket';
import { WaitLine, type GateAnswer } from './wait-line';

/** How `memoryLimiter` counts sends; see `MemoryLimiterOptions.algorithm`. */
export type MemoryAlgorithm = 'sliding-log' | 'token-bucket' | 'fixed-window';

/** Every `MemoryAlgorithm`: the values `algorithm` accepts. */
export const MEMORY_ALGORITHMS: readonly MemoryAlgorithm[] = ['sliding-log', 'token-bucket', 'fixed-window'];

/** Options of `memoryLimiter`: the budget per key, and how it is counted. */
export interface MemoryLimiterOptions {
  /** Sends allowed per `intervalMs` and key. Required: there is no sensible default for someone else's API. */
  limit: number;
  /** The length of the window, in milliseconds. Required. */
  intervalMs: number;
  /**
   * `'sliding-log'`: never more than `limit` sends in any `intervalMs` window, whatever algorithm the
   * server counts with. `'token-bucket'`: bursts up to `burst`, then `limit` per `intervalMs` on average.
   * `'fixed-window'`: `limit` per epoch-aligned window.
   * @default 'sliding-log'
   */
  algorithm?: MemoryAlgorithm;
  /**
   * Bucket capacity of `'token-bucket'` (ignored by the others).
   * @default limit
   */
  burst?: number;
  /**
   * Added to the window of `'sliding-log'` to absorb arrival jitter between this process and the server.
   * Stamped at the response, a send is counted no earlier than the server counted it and the next send
   * cannot arrive before it leaves, so only clock rounding is left to absorb: 5 ms. Stamped at the send,
   * a request on a cold connection arrives late, so the margin must cover that: 25 ms.
   * @default 5 with `stampAt: 'response'`, 25 with `stampAt: 'send'`
   */
  marginMs?: number;
  /**
   * When a `'sliding-log'` send starts to count. `'response'`: when its answer comes back (a send in
   * flight holds its place, up to `maxHoldMs`), which holds the limit whatever the connection delay. `'send'`: when it
   * leaves the line; full speed with slow APIs, but a request that waits for a new connection arrives
   * later than it was counted, so raise `marginMs` to cover the slowest connect.
   * @default 'response'
   */
  stampAt?: StampAt;
  /**
   * With `stampAt: 'response'`, the longest a send in flight holds its place: an answer slower than this
   * counts from `maxHoldMs` after its release, so a request that never answers (axios has no timeout by
   * default) cannot block its key for ever.
   * @default 60_000
   */
  maxHoldMs?: number;
  /**
   * The time windows are counted in and the timers waiters sleep on.
   * @default the global timers, read at call time
   */
  clock?: Clock;
}

/** Memory-limiter options with every default filled in and every value checked. */
export interface ResolvedMemoryLimiterOptions {
  /** See `MemoryLimiterOptions.limit`. */
  limit: number;
  /** See `MemoryLimiterOptions.intervalMs`. */
  intervalMs: number;
  /** See `MemoryLimiterOptions.algorithm`. */
  algorithm: MemoryAlgorithm;
  /** See `MemoryLimiterOptions.burst`; equals `limit` when not given. */
  burst: number;
  /** See `MemoryLimiterOptions.marginMs`. */
  marginMs: number;
  /** See `MemoryLimiterOptions.stampAt`. */
  stampAt: StampAt;
  /** See `MemoryLimiterOptions.maxHoldMs`. */
  maxHoldMs: number;
  /** See `MemoryLimiterOptions.clock`. */
  clock: Clock;
}

/** The defaults of the optional fields; `limit` and `intervalMs` have none, and `burst` follows `limit`. */
export const DEFAULT_MEMORY_LIMITER_OPTIONS = Object.freeze({
  algorithm: 'sliding-log' as MemoryAlgorithm,
  marginMs: 5,
  sendMarginMs: 25,
  stampAt: 'response' as StampAt,
  maxHoldMs: 60_000,
  clock: systemClock,
});

const KNOWN_KEYS = ['limit', 'intervalMs', 'algorithm', 'burst', 'marginMs', 'stampAt', 'maxHoldMs', 'clock'];

/**
 * Validates `memoryLimiter` options and fills in the defaults. A wrong option throws a `TypeError` naming
 * it (prefixed with `path`), what was expected and what was given.
 */
export function resolveMemoryLimiterOptions(
  options: MemoryLimiterOptions,
  path = 'memoryLimiter',
): ResolvedMemoryLimiterOptions {
  assertPlainObject(path, options);
  assertKnownKeys(path, options as unknown as Record<string, unknown>, KNOWN_KEYS);
  assertPositiveInteger(`${path}.limit`, options.limit);
  assertPositiveNumber(`${path}.intervalMs`, options.intervalMs);
  const algorithm = options.algorithm ?? DEFAULT_MEMORY_LIMITER_OPTIONS.algorithm;
  assertOneOf(`${path}.algorithm`, algorithm, MEMORY_ALGORITHMS);
  const burst = options.burst ?? options.limit;
  assertPositiveInteger(`${path}.burst`, burst);
  if (options.burst !== undefined && algorithm !== 'token-bucket') {
    throw optionError(`${path}.burst`, "no value unless algorithm is 'token-bucket'", options.burst);
  }
  const stampAt = options.stampAt ?? DEFAULT_MEMORY_LIMITER_OPTIONS.stampAt;
  assertOneOf(`${path}.stampAt`, stampAt, ['response', 'send']);
  const marginMs =
    options.marginMs ??
    (stampAt === 'send' ? DEFAULT_MEMORY_LIMITER_OPTIONS.sendMarginMs : DEFAULT_MEMORY_LIMITER_OPTIONS.marginMs);
  assertNonNegativeNumber(`${path}.marginMs`, marginMs);
  const maxHoldMs = options.maxHoldMs ?? DEFAULT_MEMORY_LIMITER_OPTIONS.maxHoldMs;
  assertPositiveNumber(`${path}.maxHoldMs`, maxHoldMs);
  const clock = options.clock ?? DEFAULT_MEMORY_LIMITER_OPTIONS.clock;
  assertClock(`${path}.clock`, clock);
  return {
    limit: options.limit,
    intervalMs: options.intervalMs,
    algorithm,
    burst,
    marginMs,
    stampAt,
    maxHoldMs,
    clock,
  };
}

interface KeyAlgorithm {
  take(now: number): GateAnswer<RateLimitPermit>;
  /** `take` for the fast path: the permit, or `undefined` when none is free, with no verdict object made. */
  grant(now: number): RateLimitPermit | undefined;
  isIdle(now: number): boolean;
}

/** A rate limiter held in this process's memory, with its per-key state exposed for tests and metrics. */
export interface MemoryLimiter extends RateLimiter {
  /** The options it was made with, defaults filled in (frozen). */
  readonly options: Readonly<ResolvedMemoryLimiterOptions>;
  /** Takes a token now if one is free and nobody waits on `key` (see `RateLimiter.tryAcquire`). */
  tryAcquire(key: string): RateLimitPermit | undefined;
  /** Requests waiting for a token on `key`. */
  waiting(key: string): number;
  /** The epoch ms until which `key` is paused, if it is. */
  pausedUntil(key: string): number | undefined;
}

/** Past this many keys, idle ones are swept so a limiter keyed by something unbounded stays small. */
const SWEEP_AT_KEYS = 1000;

/**
 * An in-memory limiter: one budget per key within this process. The embedded default; for one budget
 * shared by several processes use `upstashLimiter`.
 */
export function memoryLimiter(options: MemoryLimiterOptions): MemoryLimiter {
  const resolved = resolveMemoryLimiterOptions(options);
  const { limit, intervalMs, algorithm, burst, marginMs, stampAt, maxHoldMs, clock } = resolved;
  const states = new Map<string, KeyAlgorithm>();
  const pauses = new Map<string, number>();

  function createState(key: string, now: number): KeyAlgorithm {
    if (algorithm === 'token-bucket') {
      const bucket = new TokenBucket(limit, intervalMs, burst, now);
      return {
        take: (at) => {
          const verdict = bucket.take(at);
          return verdict.granted ? { granted: true, permit: NO_OP_PERMIT } : verdict;
        },
        grant: (at) => (bucket.take(at).granted ? NO_OP_PERMIT : undefined),
        isIdle: (at) => bucket.isIdle(at),
      };
    }
    if (algorithm === 'fixed-window') {
      const window = new FixedWindow(limit, intervalMs);
      return {
        take: (at) => {
          const verdict = window.take(at);
          return verdict.granted ? { granted: true, permit: NO_OP_PERMIT } : verdict;
        },
        grant: (at) => (window.take(at).granted ? NO_OP_PERMIT : undefined),
        isIdle: (at) => window.isIdle(at),
      };
    }
    const log = new SlidingLog(limit, intervalMs, marginMs, stampAt, maxHoldMs);
    // Stamped at the response, the log's entry is the permit itself: its `complete()` lands here.
    const settler: SendSettler = {
      settle(entry) {
        log.complete(entry, clock.now());
        if (!line.empty) line.wake(key);
      },
    };
    const grant = (at: number): RateLimitPermit | undefined => {
      const entry = log.grant(at, settler);
      if (entry === undefined) return undefined;
      return stampAt === 'send' ? NO_OP_PERMIT : (entry as LogEntry & RateLimitPermit);
    };
    return {
      take: (at) => {
        const permit = grant(at);
        return permit !== undefined ? { granted: true, permit } : { granted: false, retryAt: log.nextGrantAt(at) };
      },
      grant,
      isIdle: (at) => log.isIdle(at),
    };
  }

  function sweep(now: number): void {
    for (const [key, state] of states) {
      if (state.isIdle(now) && line.waiting(key) === 0) states.delete(key);
    }
    for (const [key, until] of pauses) if (until <= now) pauses.delete(key);
  }

  /** The epoch ms until which `key` is paused at `now`, or `undefined`; a pause that has ended is dropped. */
  function pauseAt(key: string, now: number): number | undefined {
    const pausedUntil = pauses.get(key);
    if (pausedUntil === undefined) return undefined;
    if (pausedUntil > now) return pausedUntil;
    pauses.delete(key);
    return undefined;
  }

  function stateOf(key: string, now: number): KeyAlgorithm {
    let state = states.get(key);
    if (!state) {
      if (states.size >= SWEEP_AT_KEYS) sweep(now);
      state = createState(key, now);
      states.set(key, state);
    }
    return state;
  }

  /** The gate: synchronous, so a line's head is served without a promise. */
  function tryTake(key: string): GateAnswer<RateLimitPermit> {
    const now = clock.now();
    const pausedUntil = pauseAt(key, now);
    if (pausedUntil !== undefined) return { granted: false, retryAt: pausedUntil };
    return stateOf(key, now).take(now);
  }

  // The sliding log's permits wake this line when a slot frees; they run only after it exists.
  const line: WaitLine<RateLimitPermit> = new WaitLine<RateLimitPermit>(
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
    tryAcquire(key: string) {
      // First in, first out: while anyone waits on the key, a newcomer joins the line behind them.
      if (!line.empty && line.waiting(key) > 0) return undefined;
      const now = clock.now();
      // Most limiters are never paused: then not even the map of pauses is looked in.
      if (pauses.size > 0 && pauseAt(key, now) !== undefined) return undefined;
      return (states.get(key) ?? stateOf(key, now)).grant(now);
    },
    pause(key: string, untilMs: number) {
      if (!Number.isFinite(untilMs)) return;
      const current = pauses.get(key) ?? -Infinity;
      if (untilMs > current) pauses.set(key, untilMs);
    },
    waiting: (key) => line.waiting(key),
    pausedUntil(key) {
      const until = pauses.get(key);
      return until !== undefined && until > clock.now() ? until : undefined;
    },
  };
}
