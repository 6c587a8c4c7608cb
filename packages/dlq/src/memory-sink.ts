import { cloneRecord, isDeadLetterRecord, type DeadLetterRecord } from './record';
import {
  compareIds,
  firstIndexAfter,
  normaliseClaimOptions,
  normaliseListOptions,
  type ClaimOptions,
  type DeadLetterSink,
  type ListOptions,
} from './sink';
import { optionError } from '@axios-resilience/core';

/** The in-process sink: for tests, browsers, and as a model of the sink contract. Nothing survives a restart. */
export interface MemorySink extends DeadLetterSink {
  /** Removes every record. */
  clear(): void;
  claim(options: ClaimOptions): Promise<DeadLetterRecord[]>;
  release(id: string, owner: string): Promise<boolean>;
}

interface Lease {
  owner: string;
  until: number;
}

/**
 * A sink that keeps records in a `Map`. Records are copied in and out, as a durable sink would. Leases
 * (`claim`/`release`) hold within the process, so replayers running side by side in it share the work.
 */
export function memorySink(): MemorySink {
  const records = new Map<string, DeadLetterRecord>();
  const leases = new Map<string, Lease>();
  let sortedIds: string[] | undefined;

  const ids = () => (sortedIds ??= [...records.keys()].sort(compareIds));
  const isFree = (id: string, now: number) => {
    const lease = leases.get(id);
    return lease === undefined || lease.until <= now;
  };

  return {
    async put(record) {
      if (!isDeadLetterRecord(record)) throw optionError('put(record)', 'a dead-letter record with an id', record);
      if (!records.has(record.id)) sortedIds = undefined;
      records.set(record.id, cloneRecord(record));
    },
    async get(id) {
      const record = records.get(id);
      return record ? cloneRecord(record) : undefined;
    },
    async list(options?: ListOptions) {
      const { limit, after } = normaliseListOptions(options);
      const all = ids();
      const start = after === undefined ? 0 : firstIndexAfter(all, after);
      return all.slice(start, start + Math.min(limit, all.length)).map((id) => cloneRecord(records.get(id)!));
    },
    async remove(id) {
      const removed = records.delete(id);
      leases.delete(id);
      if (removed) sortedIds = undefined;
      return removed;
    },
    async size() {
      return records.size;
    },
    async claim(options) {
      const { owner, leaseMs, limit, ids: only, after } = normaliseClaimOptions(options);
      const now = Date.now();
      const wanted = only ? new Set(only) : undefined;
      const all = ids();
      const taken: DeadLetterRecord[] = [];
      for (let index = after === undefined ? 0 : firstIndexAfter(all, after); index < all.length; index += 1) {
        if (taken.length >= limit) break;
        const id = all[index];
        if ((wanted && !wanted.has(id)) || !isFree(id, now)) continue;
        leases.set(id, { owner, until: now + leaseMs });
        taken.push(cloneRecord(records.get(id)!));
      }
      return taken;
    },
    async release(id, owner) {
      const lease = leases.get(id);
      if (lease?.owner !== owner) return false;
      leases.delete(id);
      return true;
    },
    clear() {
      records.clear();
      leases.clear();
      sortedIds = undefined;
    },
  };
}
