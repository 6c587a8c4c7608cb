import {
  assertBoolean,
  assertFunction,
  assertKnownKeys,
  assertNonNegativeInteger,
  assertNonNegativeNumber,
  assertPlainObject,
  assertPositiveInteger,
  assertPositiveNumber,
  optionError,
  systemClock,
  type Clock,
} from '@axios-resilience/core';
import axios, { type AxiosInstance, type AxiosRequestConfig } from 'axios';
import { replayBody } from './body';
import { DEAD_LETTER_RECORD_VERSION, type DeadLetterRecord, type DeadLetterReplayInfo } from './record';
import { v4 as uuidv4 } from 'uuid';
import { assertSink, isLeasingSink, sinkIds, type DeadLetterSink, type LeasingSink } from './sink';

/**
 * What happened to one record: `succeeded` sent and answered, record removed; `failed` sent and failed,
 * record kept with its `replays` count raised; `skipped` not sent (see `ReplaySkipReason`); `dry-run` would
 * have been sent.
 */
export type ReplayOutcome = 'succeeded' | 'failed' | 'skipped' | 'dry-run';

/** Why a record was not sent. */
export type ReplaySkipReason =
  /** No record with that id (removed since it was listed, or never there). */
  | 'not-found'
  /** The record could not keep the exact request: its body was truncated, rewritten by `redactBody` or unreadable. */
  | 'not-replayable'
  /** Its first attempt is older than `maxAgeMs`. */
  | 'too-old'
  /** It already failed `maxReplays` replays. */
  | 'max-replays'
  /** Written in a record format this version does not know; never sent, even with `force`. */
  | 'unsupported-version'
  /** Another replayer holds the record (a leasing sink, with `ids`). */
  | 'leased'
  /** Another replayer running at the same time already tried it and failed (a leasing sink). */
  | 'replayed-concurrently';

/** What happened to one record. */
export interface ReplayResult {
  /** The record's id. */
  id: string;
  /** What happened to it. */
  outcome: ReplayOutcome;
  /** The HTTP status of the replay's answer, when there was one. */
  status?: number;
  /** Why a replay failed (or why a successful one could not be removed), in one line. */
  error?: string;
  /** Why a record was skipped. */
  reason?: ReplaySkipReason;
}

/** What `replay` did, in counts and per record. */
export interface ReplaySummary {
  /** Records sent (or, in a dry run, that would have been sent). */
  attempted: number;
  /** Records whose replay succeeded; each is removed from the sink (a result's `error` tells of a failed removal). */
  succeeded: number;
  /** Records whose replay failed; each stays in the sink with `replays` and `lastReplay` updated. */
  failed: number;
  /** Records not sent; each result's `reason` says why. */
  skipped: number;
  /** One entry per record considered, in the order they were chosen. */
  results: ReplayResult[];
}

/** What `onProgress` is told after each record. */
export interface ReplayProgress {
  /** Records handled so far, this one included. */
  done: number;
  /** Records the replay expects to handle; never less than `done`, as the sink may grow during a replay. */
  total: number;
  /** What happened to this record. */
  result: ReplayResult;
}

/** Options of `replay`. */
export interface ReplayOptions {
  /** The instance to send through: its credentials, rate limit, retry and idempotency layers apply. Required. */
  instance: AxiosInstance;
  /** The sink to replay from; succeeded records are removed from it, failed ones updated in it. Required. */
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
  /**
   * Called after each record. Errors it throws are ignored.
   * @default undefined
   */
  onProgress?: (progress: ReplayProgress) => void;
  /**
   * Stops taking new records and aborts the requests in flight; `replay` then resolves with what was done.
   * @default undefined
   */
  signal?: AbortSignal;
  /**
   * With a sink that leases (`claim`/`release`: `pgSink`, `memorySink`), how long a taken record stays
   * reserved for this replay. Longer than one record can take (timeout times attempts), since a record
   * may wait its turn for a moment after it was taken.
   * @default 300_000 (5 min)
   */
  leaseMs?: number;
  /**
   * The time `maxAgeMs` is measured against and failed replays are stamped with.
   * @default the global timers, read at call time
   */
  clock?: Clock;
}

/** One record at a time, nothing older than 24 hours, no forcing, 5-minute leases. */
export const DEFAULT_REPLAY_OPTIONS = Object.freeze({
  concurrency: 1,
  maxAgeMs: 86_400_000,
  force: false,
  dryRun: false,
  leaseMs: 300_000,
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
  'leaseMs',
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
  assertPositiveNumber('replay.leaseMs', settings.leaseMs);
  if (settings.onProgress !== undefined) assertFunction('replay.onProgress', settings.onProgress);
  return settings;
}

/** One record to handle, as a source hands it to a worker. */
interface Job {
  /** Where its result goes in the summary. */
  index: number;
  id: string;
  /** The record, when the source already read it (a claim). */
  record?: DeadLetterRecord;
  /** This replay holds a lease on it, to give back unless the record is gone. */
  leased: boolean;
  /** Asked for by id, but not claimable: missing, or someone else holds it. */
  unclaimed?: boolean;
}

/** Where the workers take records from. */
interface JobSource {
  /** How many records the replay expects to handle (for progress). */
  readonly total: number;
  /** The next job, or `undefined` when there is none. */
  next(): Promise<Job | undefined>;
  /** Gives a job's lease back (best effort: a lease that cannot be given back runs out on its own). */
  giveBack(job: Job): Promise<void>;
  /** Gives back what was taken but never handed out. */
  finish(): Promise<void>;
}

/** Most records taken in one claim: a batch waits for free workers while its leases run. */
const MAX_CLAIM_BATCH = 100;

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

/** Without leases: the ids are chosen up front and each record is read just before it is sent. */
async function listedSource(sink: DeadLetterSink, ids: readonly string[] | undefined, limit: number | undefined) {
  const chosen = await chooseIds(sink, ids, limit);
  let next = 0;
  const source: JobSource = {
    total: chosen.length,
    async next() {
      if (next >= chosen.length) return undefined;
      const index = next;
      next += 1;
      return { index, id: chosen[index], leased: false };
    },
    async giveBack() {},
    async finish() {},
  };
  return source;
}

/**
 * With leases: records are claimed a batch at a time as workers need them, so replayers running at once
 * split the queue between them and never send the same record. Without `ids`, each claim starts after
 * the last id this replay took, so a record released after a failed replay is not taken again by it.
 */
async function leasedSource(
  sink: LeasingSink,
  settings: { ids?: readonly string[]; limit?: number; concurrency: number; leaseMs: number },
): Promise<JobSource> {
  const owner = uuidv4();
  const batchSize = Math.min(settings.concurrency, MAX_CLAIM_BATCH);
  const limit = settings.limit ?? Infinity;
  const wanted = settings.ids ? [...new Set(settings.ids)].slice(0, limit) : undefined;
  const total = wanted ? wanted.length : Math.min(limit, limit === 0 ? 0 : await sink.size());
  const buffer: Job[] = [];
  let taken = 0;
  let cursor: string | undefined;
  let exhausted = false;
  let filling: Promise<void> | undefined;

  async function fill(): Promise<void> {
    if (wanted) {
      const batch = wanted.slice(taken, taken + batchSize);
      if (batch.length === 0) {
        exhausted = true;
        return;
      }
      const claimed = await sink.claim({ ids: batch, limit: batch.length, owner, leaseMs: settings.leaseMs });
      const byId = new Map(claimed.map((record) => [record.id, record]));
      batch.forEach((id, offset) => {
        const record = byId.get(id);
        buffer.push({ index: taken + offset, id, record, leased: record !== undefined, unclaimed: !record });
      });
      taken += batch.length;
      return;
    }
    const want = Math.min(batchSize, limit - taken);
    const claimed = want > 0 ? await sink.claim({ limit: want, after: cursor, owner, leaseMs: settings.leaseMs }) : [];
    if (claimed.length === 0) {
      exhausted = true;
      return;
    }
    for (const record of claimed) {
      buffer.push({ index: taken, id: record.id, record, leased: true });
      taken += 1;
    }
    cursor = claimed[claimed.length - 1].id;
  }

  const giveBack = async (job: Job) => {
    if (job.leased) await sink.release(job.id, owner).catch(() => false);
  };
  return {
    total,
    giveBack,
    async next() {
      for (;;) {
        const job = buffer.shift();
        if (job) return job;
        if (exhausted) return undefined;
        filling ??= fill().finally(() => {
          filling = undefined;
        });
        try {
          await filling;
        } catch (error) {
          exhausted = true;
          throw error;
        }
      }
    },
    async finish() {
      await Promise.all(buffer.splice(0).map(giveBack));
    },
  };
}

/**
 * Re-sends dead-lettered requests through `instance`, `concurrency` at a time. A success removes the
 * record; a failure updates the same record (`replays`, `lastReplay`); records that are not replayable,
 * too old or past `maxReplays` are skipped unless `force`. With a sink that leases records (`claim` and
 * `release`), each record is leased before it is sent, so replays running at the same time (in this
 * process or another) never send the same one.
 */
export async function replay(options: ReplayOptions): Promise<ReplaySummary> {
  const settings = resolveReplayOptions(options);
  const { sink, instance, clock, signal } = settings;
  // A dry run changes nothing, leases included.
  const leasing = isLeasingSink(sink) && !settings.dryRun;
  const source = leasing
    ? await leasedSource(sink as LeasingSink, settings)
    : await listedSource(sink, settings.ids, settings.limit);
  const results: ReplayResult[] = [];
  const startedAt = clock.now();
  let done = 0;

  /**
   * A leased record another replayer failed since this one began was released so it can be tried again
   * later, not by a replayer of the same round: that would send it twice in one go. Best effort across
   * processes, whose clocks may differ.
   */
  const triedDuringThisRun = (record: DeadLetterRecord) => {
    const at = record.lastReplay ? Date.parse(record.lastReplay.at) : NaN;
    return at > startedAt && at <= clock.now();
  };

  async function replayOne(job: Job): Promise<ReplayResult> {
    const { id } = job;
    if (job.unclaimed) {
      return { id, outcome: 'skipped', reason: (await sink.get(id)) ? 'leased' : 'not-found' };
    }
    const record = job.record ?? (await sink.get(id));
    if (!record) return { id, outcome: 'skipped', reason: 'not-found' };
    const refusal = replayRefusal(record, settings, clock.now());
    if (refusal) return { id, outcome: 'skipped', reason: refusal };
    if (job.leased && triedDuringThisRun(record)) return { id, outcome: 'skipped', reason: 'replayed-concurrently' };
    if (settings.dryRun) return { id, outcome: 'dry-run' };

    let response;
    try {
      response = await instance.request({ ...replayRequest(record), signal });
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
    const result: ReplayResult = { id, outcome: 'succeeded', status: response.status };
    try {
      await sink.remove(id);
    } catch (removeError) {
      result.error = `replayed, but the record could not be removed: ${oneLine(removeError)}`;
    }
    return result;
  }

  let sourceError: { error: unknown } | undefined;
  async function worker(): Promise<void> {
    while (!signal?.aborted && !sourceError) {
      let job: Job | undefined;
      try {
        job = await source.next();
      } catch (error) {
        sourceError ??= { error };
        return;
      }
      if (!job) return;
      if (signal?.aborted) {
        await source.giveBack(job);
        return;
      }
      let result: ReplayResult;
      try {
        result = await replayOne(job);
      } catch (error) {
        result = { id: job.id, outcome: 'failed', error: oneLine(error) };
      }
      // A sent record that could not be removed keeps its lease until it runs out, so no other
      // replayer sends it again at once; every other record is given back.
      if (result.outcome !== 'succeeded') await source.giveBack(job);
      results[job.index] = result;
      done += 1;
      try {
        settings.onProgress?.({ done, total: Math.max(source.total, done), result });
      } catch {
        // A progress display must not stop a replay.
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.min(settings.concurrency, source.total) }, worker));
  } finally {
    await source.finish();
  }
  if (sourceError) throw sourceError.error;

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
