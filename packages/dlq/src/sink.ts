import { optionError } from '@axios-resilience/core';
import type { DeadLetterRecord } from './record';

/** Which records `list` returns. */
export interface ListOptions {
  /** At most this many records. @default all of them */
  limit?: number;
  /** Only records whose id sorts after this one (a cursor: the last id of the previous page). */
  after?: string;
}

/** Which records `claim` takes. */
export interface ClaimOptions {
  /** Who takes the lease; `release` must name the same owner. */
  owner: string;
  /** How long the lease lasts; past it, another replayer may take the record. */
  leaseMs: number;
  /** At most this many records. */
  limit: number;
  /** Only these records (those not leased by someone else). */
  ids?: readonly string[];
  /** Only records whose id sorts after this one, so a replayer never takes one it already handled. */
  after?: string;
}

/**
 * Where dead letters go. Any object with `put`, `get`, `list`, `remove` and `size` is a sink; every sink
 * keeps the contract below (the shared test suite checks it). Ids are compared as plain strings; keep them
 * ASCII (the default uuid v7 ids are).
 */
export interface DeadLetterSink {
  /**
   * Stores the record durably before it resolves. A record whose id is already stored replaces it in
   * place: this is how a replay updates `replays` without adding a second record.
   */
  put(record: DeadLetterRecord): Promise<void>;
  /** A copy of the record, or `undefined` when there is none with that id. */
  get(id: string): Promise<DeadLetterRecord | undefined>;
  /**
   * Copies of the records in ascending id order (uuid v7 ids sort in creation order). `after` is
   * exclusive and may name an id that has since been removed.
   */
  list(options?: ListOptions): Promise<DeadLetterRecord[]>;
  /** `true` when a record was removed, `false` when there was none. */
  remove(id: string): Promise<boolean>;
  /** How many records the sink holds. */
  size(): Promise<number>;
  /** Releases files or connections the sink holds, if any. */
  close?(): Promise<void>;
  /**
   * Leasing, optional (with `release`): atomically takes up to `limit` records that nobody holds (or
   * whose lease has expired), in ascending id order, and marks them held by `owner` for `leaseMs`. Two
   * replayers claiming from one sink never get the same record while a lease lasts. `get`, `list`,
   * `put` and `remove` ignore leases; removing a record ends its lease.
   */
  claim?(options: ClaimOptions): Promise<DeadLetterRecord[]>;
  /** Ends `owner`'s lease on a record; `true` when that owner held it. */
  release?(id: string, owner: string): Promise<boolean>;
}

/** A sink that can lease records, so several replayers can share it. */
export type LeasingSink = DeadLetterSink & Required<Pick<DeadLetterSink, 'claim' | 'release'>>;

/** True when the sink has both `claim` and `release`. */
export function isLeasingSink(sink: DeadLetterSink): sink is LeasingSink {
  return typeof sink.claim === 'function' && typeof sink.release === 'function';
}

const SINK_METHODS = ['put', 'get', 'list', 'remove', 'size'] as const;

/** Throws a `TypeError` naming the first sink method that is missing. */
export function assertSink(path: string, value: unknown): asserts value is DeadLetterSink {
  if (typeof value !== 'object' || value === null) throw optionError(path, 'a sink (put/get/list/remove/size)', value);
  for (const method of SINK_METHODS) {
    if (typeof (value as Record<string, unknown>)[method] !== 'function') {
      throw optionError(`${path}.${method}`, 'a function (a sink has put/get/list/remove/size)', undefined);
    }
  }
  const { claim, release } = value as Record<string, unknown>;
  if ((claim === undefined) !== (release === undefined) || (claim !== undefined && typeof claim !== 'function')) {
    throw optionError(`${path}.claim`, 'claim and release both functions, or neither', claim);
  }
  if (release !== undefined && typeof release !== 'function') {
    throw optionError(`${path}.release`, 'a function (claim and release come together)', release);
  }
}

/** The order every sink lists in. */
export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The index of the first id in `sortedIds` that sorts after `after`. */
export function firstIndexAfter(sortedIds: readonly string[], after: string): number {
  let low = 0;
  let high = sortedIds.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareIds(sortedIds[middle], after) <= 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Validates `list` options the same way in every sink. */
export function normaliseListOptions(options: ListOptions | undefined): { limit: number; after: string | undefined } {
  const limit = options?.limit ?? Infinity;
  if (limit !== Infinity && (!Number.isInteger(limit) || limit < 0)) {
    throw optionError('list.limit', 'a non-negative integer', limit);
  }
  const after = options?.after;
  if (after !== undefined && typeof after !== 'string') throw optionError('list.after', 'a record id', after);
  return { limit, after };
}

/** Validates `claim` options the same way in every sink. */
export function normaliseClaimOptions(
  options: ClaimOptions,
): Required<Pick<ClaimOptions, 'owner' | 'leaseMs' | 'limit'>> & Pick<ClaimOptions, 'ids' | 'after'> {
  if (typeof options !== 'object' || options === null) throw optionError('claim(options)', 'an object', options);
  const { owner, leaseMs, limit, ids, after } = options;
  if (typeof owner !== 'string' || owner.length === 0) throw optionError('claim.owner', 'a non-empty string', owner);
  if (typeof leaseMs !== 'number' || !Number.isFinite(leaseMs) || leaseMs <= 0) {
    throw optionError('claim.leaseMs', 'a finite number > 0', leaseMs);
  }
  if (!Number.isInteger(limit) || limit < 0) throw optionError('claim.limit', 'a non-negative integer', limit);
  if (ids !== undefined && (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string'))) {
    throw optionError('claim.ids', 'an array of record ids', ids);
  }
  if (after !== undefined && typeof after !== 'string') throw optionError('claim.after', 'a record id', after);
  return { owner, leaseMs, limit, ids, after };
}

/** Every id in a sink, page by page, in list order. */
export async function* sinkIds(sink: DeadLetterSink, pageSize = 500): AsyncGenerator<string> {
  let after: string | undefined;
  for (;;) {
    const page = await sink.list({ limit: pageSize, after });
    for (const record of page) yield record.id;
    if (page.length < pageSize) return;
    after = page[page.length - 1].id;
  }
}

/** Every record in a sink, page by page, in list order. */
export async function* sinkRecords(sink: DeadLetterSink, pageSize = 500): AsyncGenerator<DeadLetterRecord> {
  let after: string | undefined;
  for (;;) {
    const page = await sink.list({ limit: pageSize, after });
    yield* page;
    if (page.length < pageSize) return;
    after = page[page.length - 1].id;
  }
}
