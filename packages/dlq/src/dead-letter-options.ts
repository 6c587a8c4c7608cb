import {
  assertClock,
  assertFunction,
  assertKnownKeys,
  assertNonEmptyString,
  assertPlainObject,
  assertPositiveInteger,
  assertPositiveNumber,
  optionError,
  systemClock,
  type Clock,
} from '@axios-resilience/core';
import { v7 as uuidv7 } from 'uuid';
import type { BodyRedactor, RecordSettings } from './build-record';
import { fileSink } from './file-sink';
import { memorySink } from './memory-sink';
import { isNode } from './node-modules';
import type { DeadLetterRecord } from './record';
import type { NameMatcher } from './redact';
import { assertSink, type DeadLetterSink } from './sink';

/** What `onSinkError` is told: which step failed, and the record when one was built. */
export interface DeadLetterSinkErrorState {
  /** The sink's error, or the error a user callback threw. */
  error: unknown;
  /** The step that failed. */
  during: 'filter' | 'record' | 'put' | 'onDeadLetter';
  /** The record, when it was built. */
  record?: DeadLetterRecord;
  /** The failure being dead-lettered; it still reaches the caller unchanged. */
  failure: unknown;
}

/** Options of `attachDeadLetter` and `createDeadLetterInterceptors`. */
export interface DeadLetterOptions {
  /**
   * Where records go. Any object with `put/get/list/remove/size` works.
   * @default fileSink({ path: 'dead-letters.jsonl' }) under Node (relative to the working directory), memorySink() elsewhere
   */
  sink?: DeadLetterSink;
  /**
   * Methods whose final failures are recorded, unless `filter` or `resilience.deadLetter` decides.
   * @default ['POST', 'PUT', 'PATCH', 'DELETE']
   */
  methods?: readonly string[];
  /**
   * Decides per failure: `true` record, `false` do not, `undefined` apply `methods`. May be async. One that
   * throws counts as `undefined` and is reported to `onSinkError`.
   * @default undefined (`methods` decides)
   */
  filter?: (error: unknown) => boolean | undefined | Promise<boolean | undefined>;
  /**
   * Longest wait for the sink's `put`; past it the caller gets the original error with
   * `error.resilience.deadLetterError`.
   * @default 5_000
   */
  sinkTimeoutMs?: number;
  /**
   * Request bodies larger than this are stored truncated and marked not replayable.
   * @default 262_144 (256 KiB)
   */
  maxBodyBytes?: number;
  /**
   * Response bodies are stored up to this size, for diagnosis.
   * @default 4_096
   */
  maxResponseBodyBytes?: number;
  /**
   * More header names (or patterns) to remove, on top of the built-in list.
   * @default []
   */
  redactHeaders?: readonly NameMatcher[];
  /**
   * More query-parameter names (or patterns) to remove, on top of the built-in pattern.
   * @default []
   */
  redactQuery?: readonly NameMatcher[];
  /**
   * Rewrites a request or response body before it is stored; a request body it changes makes the record
   * not replayable.
   * @default undefined (bodies are stored as sent)
   */
  redactBody?: BodyRedactor;
  /**
   * The header the idempotency key travels in (read when `config.resilience.idempotencyKey` is not set).
   * @default 'Idempotency-Key'
   */
  idempotencyHeader?: string;
  /**
   * Called, without being awaited, after a record is stored. Errors it throws go to `onSinkError`.
   * @default undefined
   */
  onDeadLetter?: (record: DeadLetterRecord) => void | Promise<void>;
  /**
   * Called, without being awaited, when a record could not be made or stored. Errors it throws are ignored.
   * @default undefined
   */
  onSinkError?: (state: DeadLetterSinkErrorState) => void | Promise<void>;
  /**
   * Makes record ids. Ids should sort in creation order, as sinks list by id.
   * @default uuid v7
   */
  generateId?: () => string;
  /**
   * The time records are stamped with (`createdAt`) and the timer `sinkTimeoutMs` runs on.
   * @default the global timers, read at call time
   */
  clock?: Clock;
}

/** Dead-letter options with every default filled in and every value checked. */
export interface ResolvedDeadLetterOptions extends RecordSettings {
  /** See `DeadLetterOptions.sink`; the default one is made per attachment. */
  sink: DeadLetterSink;
  /** See `DeadLetterOptions.methods`; upper-cased here. */
  methods: readonly string[];
  /** See `DeadLetterOptions.filter`. */
  filter: DeadLetterOptions['filter'];
  /** See `DeadLetterOptions.sinkTimeoutMs`. */
  sinkTimeoutMs: number;
  /** See `DeadLetterOptions.onDeadLetter`. */
  onDeadLetter: DeadLetterOptions['onDeadLetter'];
  /** See `DeadLetterOptions.onSinkError`. */
  onSinkError: DeadLetterOptions['onSinkError'];
  /** See `DeadLetterOptions.generateId`. */
  generateId: () => string;
  /** See `DeadLetterOptions.clock`. */
  clock: Clock;
}

/** The default sink's file under Node, relative to the working directory. */
export const DEFAULT_DEAD_LETTER_FILE = 'dead-letters.jsonl';

/** Every default but the sink, which is made per attachment (see `defaultSink`). */
export const DEFAULT_DEAD_LETTER_OPTIONS = Object.freeze({
  methods: Object.freeze(['POST', 'PUT', 'PATCH', 'DELETE']) as readonly string[],
  filter: undefined,
  sinkTimeoutMs: 5_000,
  maxBodyBytes: 262_144,
  maxResponseBodyBytes: 4_096,
  redactHeaders: Object.freeze([]) as readonly NameMatcher[],
  redactQuery: Object.freeze([]) as readonly NameMatcher[],
  redactBody: undefined,
  idempotencyHeader: 'Idempotency-Key',
  onDeadLetter: undefined,
  onSinkError: undefined,
  /** uuid v7: time-ordered, so sinks list records oldest first. */
  generateId: () => uuidv7(),
  clock: systemClock,
}) satisfies Omit<ResolvedDeadLetterOptions, 'sink'>;

const KNOWN_KEYS = ['sink', ...Object.keys(DEFAULT_DEAD_LETTER_OPTIONS)];

/** The sink used when none is given: a JSONL file under Node, memory in a browser. */
export function defaultSink(): DeadLetterSink {
  return isNode() ? fileSink({ path: DEFAULT_DEAD_LETTER_FILE }) : memorySink();
}

function assertMatchers(path: string, value: unknown): asserts value is readonly NameMatcher[] {
  if (!Array.isArray(value)) throw optionError(path, 'an array of header names or RegExps', value);
  value.forEach((entry, index) => {
    if (!(entry instanceof RegExp) && (typeof entry !== 'string' || entry.length === 0)) {
      throw optionError(`${path}[${index}]`, 'a non-empty string or a RegExp', entry);
    }
  });
}

/** Merges the options over the defaults and validates them; throws a `TypeError` naming the option at fault. */
export function resolveDeadLetterOptions(options: DeadLetterOptions = {}): ResolvedDeadLetterOptions {
  assertPlainObject('deadLetter', options);
  assertKnownKeys('deadLetter', options as Record<string, unknown>, KNOWN_KEYS);
  const defined = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  const merged = { ...DEFAULT_DEAD_LETTER_OPTIONS, ...defined } as Omit<ResolvedDeadLetterOptions, 'sink'> & {
    sink?: unknown;
  };

  const sink = merged.sink ?? defaultSink();
  assertSink('deadLetter.sink', sink);
  if (!Array.isArray(merged.methods))
    throw optionError('deadLetter.methods', 'an array of HTTP methods', merged.methods);
  merged.methods.forEach((method, index) => assertNonEmptyString(`deadLetter.methods[${index}]`, method));
  if (merged.filter !== undefined) assertFunction('deadLetter.filter', merged.filter);
  assertPositiveNumber('deadLetter.sinkTimeoutMs', merged.sinkTimeoutMs);
  assertPositiveInteger('deadLetter.maxBodyBytes', merged.maxBodyBytes);
  assertPositiveInteger('deadLetter.maxResponseBodyBytes', merged.maxResponseBodyBytes);
  assertMatchers('deadLetter.redactHeaders', merged.redactHeaders);
  assertMatchers('deadLetter.redactQuery', merged.redactQuery);
  if (merged.redactBody !== undefined) assertFunction('deadLetter.redactBody', merged.redactBody);
  assertNonEmptyString('deadLetter.idempotencyHeader', merged.idempotencyHeader);
  if (merged.onDeadLetter !== undefined) assertFunction('deadLetter.onDeadLetter', merged.onDeadLetter);
  if (merged.onSinkError !== undefined) assertFunction('deadLetter.onSinkError', merged.onSinkError);
  assertFunction('deadLetter.generateId', merged.generateId);
  assertClock('deadLetter.clock', merged.clock);

  return {
    ...merged,
    sink,
    methods: merged.methods.map((method) => method.toUpperCase()),
  };
}
