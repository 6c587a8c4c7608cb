import {
  assertBoolean,
  assertFunction,
  assertKnownKeys,
  assertNonNegativeInteger,
  assertNonNegativeNumber,
  assertPlainObject,
  assertPositiveInteger,
  optionError,
  systemClock,
  type Clock,
} from '@axios-resilience/core';
import axios, { type AxiosInstance, type AxiosRequestConfig } from 'axios';
import { replayBody } from './body';
import { DEAD_LETTER_RECORD_VERSION, type DeadLetterRecord, type DeadLetterReplayInfo } from './record';
import { assertSink, sinkIds, type DeadLetterSink } from './sink';

/** What happened to one record. */
export type ReplayOutcome = 'succeeded' | 'failed' | 'skipped' | 'dry-run';

/** Why a record was not sent. */
export type ReplaySkipReason = 'not-found' | 'not-replayable' | 'too-old' | 'max-replays' | 'unsupported-version';

export interface ReplayResult {
  id: string;
  outcome: ReplayOutcome;
  /** The HTTP status of the replay's answer, when there was one. */
  status?: number;
  /** Why a replay failed (or why a successful one could not be removed), in one line. */
  error?: string;
  /** Why a record was skipped. */
  reason?: ReplaySkipReason;
}

export interface ReplaySummary {
  /** Records sent (or, in a dry run, that would have been sent). */
  attempted: number;
  succeeded: number;
  failed: number;
  skipped: number;
  /** One entry per record considered, in the order they were chosen. */
  results: ReplayResult[];
}

/** What `onProgress` is told after each record. */
export interface ReplayProgress {
  done: number;
  total: number;
  result: ReplayResult;
}

export interface ReplayOptions {
  /** The instance to send through: its credentials, rate limit, retry and idempotency layers apply. */
  instance: AxiosInstance;
  sink: DeadLetterSink;
  /** Replay these records (in this order) instead of the whole sink. */
  ids?: readonly string[];
  /** At most this many records. @default all */
  limit?: number;
  /** Records in flight at once. @default 1 */
  concurrency?: number;
  /**
   * Records whose first attempt is older than this are refused unless `force`: past the server's key
   * lifetime an idempotency key no longer protects against a second charge.
   * @default 86_400_000 (24 h, Stripe's key lifetime)
   */
  maxAgeMs?: number;
  /** Refuse records that already failed this many replays. @default no limit */
  maxReplays?: number;
  /** Send records that are not replayable, too old or past `maxReplays` anyway. @default false */
  force?: boolean;
  /** Decide and report, send nothing, change nothing. @default false */
  dryRun?: boolean;
  /** Called after each record. Errors it throws are ignored. */
  onProgress?: (progress: ReplayProgress) => void;
  /** Stops taking new records and aborts the requests in flight. */
  signal?: AbortSignal;
  /** @default the global timers, read at call time */
  clock?: Clock;
}

export const DEFAULT_REPLAY_OPTIONS = Object.freeze({
  concurrency: 1,
  maxAgeMs: 86_400_000,
  force: false,
  dryRun: false,
});

const KNOWN_KEYS = [
  'instance',
  'sink',
  'ids',
  'limit',
  'concurrency',
  'maxAgeMs',
  'maxReplays',
  'force',
  'dryRun',
  'onProgress',
  'signal',
  'clock',
];

/**
 * The request a record stands for: the original method, URL, headers (minus what was redacted: the
 * replaying instance supplies credentials), the exact body bytes and the original idempotency key. The
 * body is passed through an identity `transformRequest`, so axios sends the recorded bytes unchanged, and
 * `resilience.deadLetter: false` keeps a failed replay from making a second record.
 */
export function replayRequest(record: DeadLetterRecord): AxiosRequestConfig {
  const headers: Record<string, string> = { ...record.headers };
  const key = record.idempotencyKey;
  if (key !== null) {
    const carried = Object.values(headers).some((value) => value === key || value === `"${key}"`);
    if (!carried) headers['idempotency-key'] = key;
  }
  return {
    method: record.method,
    url: record.url,
    headers,
    data: replayBody(record.body, record.bodyEncoding),
    transformRequest: [(data: unknown) => data],
    resilience: key === null ? { deadLetter: false } : { deadLetter: false, idempotencyKey: key },
  };
}

/** Epoch ms the record's operation started, for the age limit; `undefined` when the record does not say. */
function operationStart(record: DeadLetterRecord): number | undefined {
  for (const value of [record.firstAttemptAt, record.createdAt]) {
    const parsed = typeof value === 'string' ? Date.parse(value) : NaN;
    if (Number.isFinite(parsed)) return parsed;
  }
  return undefined;
}

/** Why a record must not be sent, or `undefined` when it may be. */
export function replayRefusal(
  record: DeadLetterRecord,
  settings: { maxAgeMs: number; maxReplays?: number; force: boolean },
  now: number,
): ReplaySkipReason | undefined {
  if (record.version !== DEAD_LETTER_RECORD_VERSION) return 'unsupported-version';
  if (settings.force) return undefined;
  if (!record.replayable) return 'not-replayable';
  const started = operationStart(record);
  if (started === undefined || now - started > settings.maxAgeMs) return 'too-old';
  if (settings.maxReplays !== undefined && record.replays >= settings.maxReplays) return 'max-replays';
  return undefined;
}

function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0].slice(0, 300);
}

function failureInfo(error: unknown, at: number): DeadLetterReplayInfo {
  const status = axios.isAxiosError(error) ? (error.response?.status ?? null) : null;
  const code = (error as { code?: unknown } | null)?.code;
  return {
    at: new Date(at).toISOString(),
    status,
    code: typeof code === 'string' ? code : null,
    message: oneLine(error),
  };
}

function resolveReplayOptions(options: ReplayOptions) {
  assertPlainObject('replay(options)', options);
  assertKnownKeys('replay', options as unknown as Record<string, unknown>, KNOWN_KEYS);
  if (typeof (options.instance as Partial<AxiosInstance> | undefined)?.request !== 'function') {
    throw optionError('replay.instance', 'an axios instance', options.instance);
  }
  assertSink('replay.sink', options.sink);
  const defined = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  const settings = {
    ...DEFAULT_REPLAY_OPTIONS,
    ...(defined as unknown as ReplayOptions),
    clock: options.clock ?? systemClock,
  };
  if (settings.ids !== undefined) {
    if (!Array.isArray(settings.ids)) throw optionError('replay.ids', 'an array of record ids', settings.ids);
    settings.ids.forEach((id, index) => {
      if (typeof id !== 'string' || id.length === 0) throw optionError(`replay.ids[${index}]`, 'a record id', id);
    });
  }
  if (settings.limit !== undefined) assertNonNegativeInteger('replay.limit', settings.limit);
  assertPositiveInteger('replay.concurrency', settings.concurrency);
  assertNonNegativeNumber('replay.maxAgeMs', settings.maxAgeMs);
  if (settings.maxReplays !== undefined) assertNonNegativeInteger('replay.maxReplays', settings.maxReplays);
  assertBoolean('replay.force', settings.force);
  assertBoolean('replay.dryRun', settings.dryRun);
  if (settings.onProgress !== undefined) assertFunction('replay.onProgress', settings.onProgress);
  return settings;
}

async function chooseIds(sink: DeadLetterSink, ids: readonly string[] | undefined, limit: number | undefined) {
  const max = limit ?? Infinity;
  if (ids) return [...new Set(ids)].slice(0, max);
  const chosen: string[] = [];
  if (max === 0) return chosen;
  // Ids first, records later: the records are read one by one just before sending, so a large queue is
  // never held in memory and each record is as fresh as possible.
  for await (const id of sinkIds(sink)) {
    chosen.push(id);
    if (chosen.length >= max) break;
  }
  return chosen;
}

/**
 * Re-sends dead-lettered requests through `instance`, `concurrency` at a time. A success removes the
 * record; a failure updates the same record (`replays`, `lastReplay`); records that are not replayable,
 * too old or past `maxReplays` are skipped unless `force`.
 */
export async function replay(options: ReplayOptions): Promise<ReplaySummary> {
  const settings = resolveReplayOptions(options);
  const { sink, instance, clock, signal } = settings;
  const ids = await chooseIds(sink, settings.ids, settings.limit);
  const results: ReplayResult[] = new Array(ids.length);
  let done = 0;

  async function replayOne(id: string): Promise<ReplayResult> {
    const record = await sink.get(id);
    if (!record) return { id, outcome: 'skipped', reason: 'not-found' };
    const refusal = replayRefusal(record, settings, clock.now());
    if (refusal) return { id, outcome: 'skipped', reason: refusal };
    if (settings.dryRun) return { id, outcome: 'dry-run' };

    try {
      const response = await instance.request({ ...replayRequest(record), signal });
      const result: ReplayResult = { id, outcome: 'succeeded', status: response.status };
      try {
        await sink.remove(id);
      } catch (removeError) {
        result.error = `replayed, but the record could not be removed: ${oneLine(removeError)}`;
      }
      return result;
    } catch (error) {
      const info = failureInfo(error, clock.now());
      const result: ReplayResult = { id, outcome: 'failed', error: info.message };
      if (info.status !== null) result.status = info.status;
      try {
        await sink.put({ ...record, replays: record.replays + 1, lastReplay: info });
      } catch (putError) {
        result.error = `${info.message} (and the record could not be updated: ${oneLine(putError)})`;
      }
      return result;
    }
  }

  let next = 0;
  async function worker(): Promise<void> {
    while (next < ids.length && !signal?.aborted) {
      const index = next;
      next += 1;
      let result: ReplayResult;
      try {
        result = await replayOne(ids[index]);
      } catch (error) {
        result = { id: ids[index], outcome: 'failed', error: oneLine(error) };
      }
      results[index] = result;
      done += 1;
      try {
        settings.onProgress?.({ done, total: ids.length, result });
      } catch {
        // A progress display must not stop a replay.
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(settings.concurrency, ids.length) }, worker));

  const finished = results.filter((result) => result !== undefined);
  const count = (outcome: ReplayOutcome) => finished.filter((result) => result.outcome === outcome).length;
  return {
    attempted: count('succeeded') + count('failed') + count('dry-run'),
    succeeded: count('succeeded'),
    failed: count('failed'),
    skipped: count('skipped'),
    results: finished,
  };
}
