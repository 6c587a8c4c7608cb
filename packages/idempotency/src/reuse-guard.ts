import {
  IdempotencyKeyReusedError,
  assertKnownKeys,
  assertPlainObject,
  assertPositiveInteger,
  assertPositiveNumber,
  optionError,
  systemClock,
  type Clock,
} from '@axios-resilience/core';
import { fingerprintDifferences, type RequestFingerprint } from './request-fingerprint';

/** Size and age limits of the reuse guard's record. */
export interface ReuseGuardOptions {
  /**
   * Keys remembered at most; past it the oldest is forgotten.
   * @default 10_000
   */
  maxEntries?: number;
  /**
   * How long a key is remembered after its first use, in ms. Stripe keeps keys at least 24 hours; after
   * that a server may treat the key as new, so the guard does too.
   * @default 86_400_000 (24 hours)
   */
  maxAgeMs?: number;
  /**
   * Time source for the age limit.
   * @default systemClock
   */
  clock?: Clock;
}

/**
 * An in-process record of key -> the request it was first used for. One guard may be shared by several
 * axios instances that talk to the same API.
 */
export interface ReuseGuard {
  /**
   * Remembers the key's first request, or throws `IdempotencyKeyReusedError` when the key is already
   * remembered for a request with a different method, URL or body.
   */
  check(key: string, fingerprint: RequestFingerprint): void;
  /** Keys remembered now (expired ones are dropped first). */
  readonly size: number;
  /** Forgets every key. */
  clear(): void;
}

/** The guard's default limits: 10,000 keys, each remembered for 24 hours (Stripe's key lifetime). */
export const DEFAULT_REUSE_GUARD_OPTIONS = { maxEntries: 10_000, maxAgeMs: 24 * 60 * 60 * 1000 } as const;

/** Reuse-guard options with every default filled in. */
export interface ResolvedReuseGuardOptions {
  /** See `ReuseGuardOptions.maxEntries`. */
  maxEntries: number;
  /** See `ReuseGuardOptions.maxAgeMs`. */
  maxAgeMs: number;
  /** See `ReuseGuardOptions.clock`. */
  clock: Clock;
}

/** Validates reuse-guard options; `path` names them in error messages. */
export function resolveReuseGuardOptions(options: unknown = {}, path = 'guard'): ResolvedReuseGuardOptions {
  assertPlainObject(path, options);
  assertKnownKeys(path, options, ['maxEntries', 'maxAgeMs', 'clock']);
  const { maxEntries = DEFAULT_REUSE_GUARD_OPTIONS.maxEntries, maxAgeMs = DEFAULT_REUSE_GUARD_OPTIONS.maxAgeMs } =
    options;
  assertPositiveInteger(`${path}.maxEntries`, maxEntries);
  assertPositiveNumber(`${path}.maxAgeMs`, maxAgeMs);
  const clock = options.clock ?? systemClock;
  assertClock(`${path}.clock`, clock);
  return { maxEntries, maxAgeMs, clock };
}

/** A clock must at least tell the time; the guard never waits on it. */
export function assertClock(path: string, value: unknown): asserts value is Clock {
  if (typeof value !== 'object' || value === null || typeof (value as Clock).now !== 'function') {
    throw optionError(path, 'a clock with a now() method', value);
  }
}

interface Entry {
  fingerprint: RequestFingerprint;
  firstUsedAt: number;
}

/**
 * The method and URL for an error message, without what may carry a credential: the query (`?api_key=`) and
 * the URL's user information (`https://user:pass@host`).
 */
function describeTarget(fingerprint: RequestFingerprint): string {
  const queryAt = fingerprint.url.search(/[?#]/);
  const path = queryAt >= 0 ? fingerprint.url.slice(0, queryAt) : fingerprint.url;
  return `${fingerprint.method} ${path.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1')}`;
}

function describeKey(key: string): string {
  return JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key);
}

/**
 * The bounded record behind the reuse guard. A `Map` keeps insertion order, and entries are never
 * refreshed, so the oldest entry is always first: both limits are enforced by dropping from the front,
 * which keeps every check O(1) amortised however many operations pass through.
 */
export function createReuseGuard(options: ReuseGuardOptions = {}): ReuseGuard {
  const { maxEntries, maxAgeMs, clock } = resolveReuseGuardOptions(options);
  const entries = new Map<string, Entry>();
  // Insertion order kept beside the map: walking a Map from the front after many deletions steps over
  // every deleted slot until V8 rebuilds the table, which made each check cost thousands of steps.
  let order: Array<{ key: string; entry: Entry }> = [];
  let head = 0;

  function dropOldest(): void {
    const { key, entry } = order[head];
    // Release the slot now, not at the next compaction: the queue must not keep dropped entries alive.
    (order as Array<{ key: string; entry: Entry } | undefined>)[head] = undefined;
    head += 1;
    if (entries.get(key) === entry) entries.delete(key);
    if (head > 1024 && head * 2 > order.length) {
      order = order.slice(head);
      head = 0;
    }
  }

  function dropExpired(now: number): void {
    while (head < order.length && now - order[head].entry.firstUsedAt >= maxAgeMs) dropOldest();
  }

  return {
    check(key, fingerprint) {
      const now = clock.now();
      dropExpired(now);
      const known = entries.get(key);
      if (known) {
        const differences = fingerprintDifferences(known.fingerprint, fingerprint);
        if (differences.length === 0) return;
        throw new IdempotencyKeyReusedError(
          `Idempotency key ${describeKey(key)} was first used for ${describeTarget(known.fingerprint)} and is now ` +
            `sent with a different ${differences.join(' and ')} (${describeTarget(fingerprint)}). ` +
            `A key stands for one logical operation: make a new key for a new operation. Nothing was sent.`,
        );
      }
      const entry: Entry = { fingerprint, firstUsedAt: now };
      entries.set(key, entry);
      order.push({ key, entry });
      while (entries.size > maxEntries && head < order.length) dropOldest();
    },
    get size() {
      dropExpired(clock.now());
      return entries.size;
    },
    clear() {
      entries.clear();
      order = [];
      head = 0;
    },
  };
}
