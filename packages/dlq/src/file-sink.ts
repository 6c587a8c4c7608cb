import {
  assertBoolean,
  assertKnownKeys,
  assertNonEmptyString,
  assertPlainObject,
  optionError,
} from '@axios-resilience/core';
import { loadFs, loadPath } from './node-modules';
import { cloneRecord, isDeadLetterRecord, type DeadLetterRecord } from './record';
import { compareIds, firstIndexAfter, normaliseListOptions, type DeadLetterSink, type ListOptions } from './sink';

type FsPromises = typeof import('node:fs/promises');
type FileHandle = import('node:fs/promises').FileHandle;

/** Options of `fileSink`. */
export interface FileSinkOptions {
  /**
   * The JSONL file, absolute or relative to the working directory. It and its directory are created on
   * the first write. Required.
   */
  path: string;
  /** Flush every write to disk (`fsync`) before `put` or `remove` resolves. @default true */
  fsync?: boolean;
  /**
   * Rewrite the file without garbage (replaced records, tombstones, torn lines) once at least this many
   * lines are garbage and garbage outnumbers live records; `false` never compacts on its own.
   * @default 1000
   */
  compactThreshold?: number | false;
}

/** What the file held when it was last read. */
export interface FileSinkStats {
  /** Live records. */
  records: number;
  /** Complete lines read, live or not. */
  lines: number;
  /** Lines that no longer count: replaced records, tombstones, corrupt lines. */
  garbageLines: number;
  /** Lines that were not JSON or not a record (a torn write that was later followed by more lines). */
  corruptLines: number;
}

/**
 * The embedded default sink: one JSON record per line, appended. Safe with one writing process and any
 * number of reading processes; see the README for the details of the format.
 */
export interface FileSink extends DeadLetterSink {
  /** The file, as given. */
  readonly path: string;
  /** Rewrites the file with only the live records (atomically: a temp file renamed over it). */
  compact(): Promise<void>;
  /** Reads the file and reports its make-up. */
  stats(): Promise<FileSinkStats>;
  /** Waits for pending writes and closes the file. The sink can still be read afterwards. */
  close(): Promise<void>;
}

/** A removal: later lines win, so this line hides every earlier line of the record. */
interface Tombstone {
  tombstone: string;
  removedAt: string;
}

/** Durable by default (`fsync` before each write resolves); compaction from 1,000 lines of garbage. */
export const DEFAULT_FILE_SINK_OPTIONS = {
  fsync: true,
  compactThreshold: 1000,
} as const satisfies Omit<Required<FileSinkOptions>, 'path'>;

const READ_CHUNK_BYTES = 1 << 20;
const NEWLINE = 0x0a;

function isTombstone(value: unknown): value is Tombstone {
  return typeof value === 'object' && value !== null && typeof (value as Tombstone).tombstone === 'string';
}

function isMissing(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'ENOENT';
}

function fileIdentity(stat: { dev: number; ino: number }): string {
  return `${stat.dev}:${stat.ino}`;
}

interface PendingWrite {
  line: string;
  mayLeaveGarbage: boolean;
  resolve(): void;
  reject(error: unknown): void;
}

function resolveFileSinkOptions(options: FileSinkOptions): Required<FileSinkOptions> {
  assertPlainObject('fileSink(options)', options);
  assertKnownKeys('fileSink', options as unknown as Record<string, unknown>, ['path', 'fsync', 'compactThreshold']);
  assertNonEmptyString('fileSink.path', options.path);
  const resolved = { ...DEFAULT_FILE_SINK_OPTIONS, ...options };
  assertBoolean('fileSink.fsync', resolved.fsync);
  const threshold = resolved.compactThreshold;
  if (threshold !== false && (typeof threshold !== 'number' || !Number.isInteger(threshold) || threshold < 1)) {
    throw optionError('fileSink.compactThreshold', 'a positive integer or false', threshold);
  }
  return resolved;
}

/**
 * A JSONL file of records. `put` appends the record's line and `remove` a tombstone line; each resolves
 * after the write is flushed to disk (writes that arrive together share one flush). Readers fold the lines
 * in order, skip a torn last line, and re-read only what was appended since their last read.
 */
export function fileSink(options: FileSinkOptions): FileSink {
  const settings = resolveFileSinkOptions(options);
  const path = settings.path;

  const records = new Map<string, DeadLetterRecord>();
  let sortedIds: string[] | undefined;
  let readOffset = 0;
  let readIdentity: string | undefined;
  /** The file size at the end of the last read, a torn tail included (the index stops before it). */
  let seenSize = 0;
  let lineCount = 0;
  let corruptCount = 0;

  let writer: { handle: FileHandle; identity: string } | undefined;
  let pending: PendingWrite[] = [];
  let flushRun: Promise<void> | undefined;
  let closed = false;

  let tail: Promise<unknown> = Promise.resolve();
  /** Runs one file operation at a time within this sink (reads, appends and compaction never interleave). */
  function exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = tail.then(task);
    tail = run.catch(() => undefined);
    return run;
  }

  const ids = () => (sortedIds ??= [...records.keys()].sort(compareIds));

  function resetIndex(identity: string | undefined): void {
    records.clear();
    sortedIds = undefined;
    readOffset = 0;
    seenSize = 0;
    lineCount = 0;
    corruptCount = 0;
    readIdentity = identity;
  }

  function fold(text: string): void {
    const trimmed = text.trim();
    if (trimmed.length === 0) return;
    lineCount += 1;
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch {
      corruptCount += 1;
      return;
    }
    if (isTombstone(value)) {
      if (records.delete(value.tombstone)) sortedIds = undefined;
    } else if (isDeadLetterRecord(value)) {
      if (!records.has(value.id)) sortedIds = undefined;
      records.set(value.id, value);
    } else {
      corruptCount += 1;
    }
  }

  /** Brings the index up to date with the file: from scratch after a compaction elsewhere, else only the new bytes. */
  async function refresh(): Promise<void> {
    const fs = await loadFs();
    let stat;
    try {
      stat = await fs.stat(path);
    } catch (error) {
      if (isMissing(error)) {
        resetIndex(undefined);
        return;
      }
      throw error;
    }
    const identity = fileIdentity(stat);
    if (identity !== readIdentity || stat.size < readOffset) resetIndex(identity);
    seenSize = stat.size;
    if (stat.size === readOffset) return;

    const handle = await fs.open(path, 'r');
    try {
      let position = readOffset;
      let carry = Buffer.alloc(0);
      const chunk = Buffer.alloc(READ_CHUNK_BYTES);
      for (;;) {
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
        if (bytesRead === 0) break;
        position += bytesRead;
        const data =
          carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
        let start = 0;
        for (let newline = data.indexOf(NEWLINE, start); newline >= 0; newline = data.indexOf(NEWLINE, start)) {
          fold(data.toString('utf8', start, newline));
          start = newline + 1;
        }
        readOffset += start;
        // A line without its newline yet is either being written or torn by a crash: read it next time.
        carry = Buffer.from(data.subarray(start));
      }
      seenSize = position;
    } finally {
      await handle.close();
    }
  }

  async function syncDirectory(fs: FsPromises): Promise<void> {
    const { dirname } = await loadPath();
    try {
      const directory = await fs.open(dirname(path), 'r');
      try {
        await directory.sync();
      } finally {
        await directory.close();
      }
    } catch {
      // Some platforms (Windows) cannot open a directory; the rename itself is still atomic there.
    }
  }

  /** The append handle, reopened when the file on disk is no longer the one it points to (compacted, deleted). */
  async function openWriter(fs: FsPromises): Promise<{ handle: FileHandle; prefix: string; created: boolean }> {
    let existing;
    try {
      existing = await fs.stat(path);
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
    if (writer && existing && fileIdentity(existing) === writer.identity) {
      return { handle: writer.handle, prefix: '', created: false };
    }
    if (writer) {
      await writer.handle.close().catch(() => undefined);
      writer = undefined;
    }
    const { dirname } = await loadPath();
    await fs.mkdir(dirname(path), { recursive: true });
    const handle = await fs.open(path, 'a');
    const own = await handle.stat();
    let prefix = '';
    if (own.size > 0) {
      // A crash mid-line leaves a fragment with no newline; start on a fresh line so the fragment stays
      // one unreadable line instead of corrupting the next record.
      const reader = await fs.open(path, 'r');
      try {
        const last = Buffer.alloc(1);
        await reader.read(last, 0, 1, own.size - 1);
        if (last[0] !== NEWLINE) prefix = '\n';
      } finally {
        await reader.close();
      }
    }
    writer = { handle, identity: fileIdentity(own) };
    return { handle, prefix, created: existing === undefined };
  }

  async function append(text: string): Promise<void> {
    const fs = await loadFs();
    const { handle, prefix, created } = await openWriter(fs);
    await handle.appendFile(prefix + text, 'utf8');
    if (settings.fsync) {
      await handle.sync();
      if (created) await syncDirectory(fs);
    }
  }

  async function rewrite(): Promise<void> {
    const fs = await loadFs();
    for (let round = 0; round < 5; round += 1) {
      await refresh();
      if (readIdentity === undefined) return;
      const temporary = `${path}.${Math.random().toString(36).slice(2)}.compact.tmp`;
      const handle = await fs.open(temporary, 'wx');
      try {
        let buffered = '';
        for (const id of ids()) {
          buffered += `${JSON.stringify(records.get(id))}\n`;
          if (buffered.length >= READ_CHUNK_BYTES) {
            await handle.appendFile(buffered, 'utf8');
            buffered = '';
          }
        }
        if (buffered) await handle.appendFile(buffered, 'utf8');
        if (settings.fsync) await handle.sync();
      } finally {
        await handle.close();
      }
      const current = await fs.stat(path).catch(() => undefined);
      if (!current || fileIdentity(current) !== readIdentity || current.size !== seenSize) {
        // Something was appended while the copy was written: copy again rather than lose it.
        await fs.rm(temporary, { force: true });
        continue;
      }
      await fs.rename(temporary, path);
      if (settings.fsync) await syncDirectory(fs);
      const renamed = await fs.stat(path);
      readIdentity = fileIdentity(renamed);
      readOffset = renamed.size;
      seenSize = renamed.size;
      lineCount = records.size;
      corruptCount = 0;
      if (writer) {
        await writer.handle.close().catch(() => undefined);
        writer = undefined;
      }
      return;
    }
  }

  async function compactIfWorthIt(): Promise<void> {
    if (settings.compactThreshold === false) return;
    await refresh();
    const garbage = lineCount - records.size;
    if (garbage >= settings.compactThreshold && garbage > records.size) await rewrite();
  }

  async function flushLoop(): Promise<void> {
    while (pending.length > 0) {
      let batch: PendingWrite[] = [];
      try {
        await exclusive(async () => {
          // Taken inside the lock, so every write that arrived while the last flush ran shares this one.
          batch = pending;
          pending = [];
          await append(batch.map((write) => write.line).join(''));
        });
        for (const write of batch) write.resolve();
      } catch (error) {
        for (const write of batch) write.reject(error);
        continue;
      }
      if (batch.some((write) => write.mayLeaveGarbage)) {
        // The records are safe on disk already; a failed compaction only leaves the garbage for later.
        await exclusive(compactIfWorthIt).catch(() => undefined);
      }
    }
  }

  function enqueue(line: string, mayLeaveGarbage: boolean): Promise<void> {
    if (closed) return Promise.reject(new Error(`fileSink(${path}) is closed`));
    return new Promise<void>((resolve, reject) => {
      pending.push({ line, mayLeaveGarbage, resolve, reject });
      flushRun ??= flushLoop().finally(() => {
        flushRun = undefined;
      });
    });
  }

  return {
    path,
    async put(record) {
      if (!isDeadLetterRecord(record)) throw optionError('put(record)', 'a dead-letter record with an id', record);
      await enqueue(`${JSON.stringify(record)}\n`, records.has(record.id));
    },
    async get(id) {
      await exclusive(refresh);
      const record = records.get(id);
      return record ? cloneRecord(record) : undefined;
    },
    async list(listOptions?: ListOptions) {
      const { limit, after } = normaliseListOptions(listOptions);
      return exclusive(async () => {
        await refresh();
        const all = ids();
        const start = after === undefined ? 0 : firstIndexAfter(all, after);
        return all.slice(start, start + Math.min(limit, all.length)).map((id) => cloneRecord(records.get(id)!));
      });
    },
    async remove(id) {
      const present = await exclusive(async () => {
        await refresh();
        return records.has(id);
      });
      if (!present) return false;
      const tombstone: Tombstone = { tombstone: id, removedAt: new Date().toISOString() };
      await enqueue(`${JSON.stringify(tombstone)}\n`, true);
      return true;
    },
    async size() {
      await exclusive(refresh);
      return records.size;
    },
    async compact() {
      await exclusive(rewrite);
    },
    async stats() {
      return exclusive(async () => {
        await refresh();
        return {
          records: records.size,
          lines: lineCount,
          garbageLines: lineCount - records.size,
          corruptLines: corruptCount,
        };
      });
    },
    async close() {
      closed = true;
      while (flushRun) await flushRun;
      await exclusive(async () => {
        if (writer) await writer.handle.close().catch(() => undefined);
        writer = undefined;
      });
    },
  };
}
