import { optionError } from '@axios-resilience/core';
import type { DeadLetterRecord } from './record';

/** Which records `list` returns. */
export interface ListOptions {
  /** At most this many records. @default all of them */
  limit?: number;
  /** Only records whose id sorts after this one (a cursor: the last id of the previous page). */
  after?: string;
}

/**
 * Where dead letters go. Any object with these five methods is a sink; the contract every sink keeps
 * (and the shared test suite checks):
 * - `put(record)` stores the record durably before it resolves. A record with an id already stored
 *   replaces it in place: this is how a replay updates `replays` without adding a second record.
 * - `get(id)` returns a copy of the record, or `undefined`.
 * - `list({ limit, after })` returns copies in ascending id order (uuid v7 ids sort in creation order);
 *   `after` is exclusive and may name an id that has since been removed.
 * - `remove(id)` resolves `true` when a record was removed, `false` when there was none.
 * - `size()` counts the records.
 * Ids are compared as plain strings; keep them ASCII (the default uuid v7 ids are).
 */
export interface DeadLetterSink {
  put(record: DeadLetterRecord): Promise<void>;
  get(id: string): Promise<DeadLetterRecord | undefined>;
  list(options?: ListOptions): Promise<DeadLetterRecord[]>;
  remove(id: string): Promise<boolean>;
  size(): Promise<number>;
  /** Releases files or connections the sink holds, if any. */
  close?(): Promise<void>;
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
