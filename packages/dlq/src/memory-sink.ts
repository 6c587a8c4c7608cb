import { cloneRecord, isDeadLetterRecord, type DeadLetterRecord } from './record';
import { compareIds, firstIndexAfter, normaliseListOptions, type DeadLetterSink, type ListOptions } from './sink';
import { optionError } from '@axios-resilience/core';

/** The in-process sink: for tests, browsers, and as a model of the sink contract. Nothing survives a restart. */
export interface MemorySink extends DeadLetterSink {
  /** Removes every record. */
  clear(): void;
}

/** A sink that keeps records in a `Map`. Records are copied in and out, as a durable sink would. */
export function memorySink(): MemorySink {
  const records = new Map<string, DeadLetterRecord>();
  let sortedIds: string[] | undefined;

  const ids = () => (sortedIds ??= [...records.keys()].sort(compareIds));

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
      if (removed) sortedIds = undefined;
      return removed;
    },
    async size() {
      return records.size;
    },
    clear() {
      records.clear();
      sortedIds = undefined;
    },
  };
}
