import {
  RESPONSE_STAGE,
  ResilienceError,
  isResilienceError,
  optionError,
  registerLayer,
  setFailureSummary,
  type Attachment,
  type Clock,
  type ResponseFulfilledHandler,
  type ResponseRejectedHandler,
} from '@axios-resilience/core';
import axios, { type AxiosInstance, type AxiosRequestConfig } from 'axios';
import { buildDeadLetterRecord, describeRequest, type DescribedRequest } from './build-record';
import { ensureFailureSummary, shouldDeadLetter } from './dead-letter-decision';
import {
  resolveDeadLetterOptions,
  type DeadLetterOptions,
  type DeadLetterSinkErrorState,
  type ResolvedDeadLetterOptions,
} from './dead-letter-options';
import type { DeadLetterRecord } from './record';
import { scrubSecrets } from './redact';
import { installRedactedToJSON } from './redacted-error';
import type { DeadLetterSink } from './sink';

/** The raw interceptors, for wiring `instance.interceptors.response.use(...)` by hand. */
export interface DeadLetterInterceptors {
  /**
   * Answers pass untouched. A failure is recorded when the decision says so, then rethrown as the same
   * error object, with `error.resilience.deadLetterId` (or `deadLetterError`) set.
   */
  response: [onFulfilled: ResponseFulfilledHandler, onRejected: ResponseRejectedHandler];
}

/** What `attachDeadLetter` returns: the usual `eject()`, and the sink in use (the default one included). */
export interface DeadLetterAttachment extends Attachment {
  /** The sink records go to: the one given, or the default made for this attachment. */
  readonly sink: DeadLetterSink;
}

/**
 * Failures this stage has seen. A retried operation's final error passes the stage once per nesting level
 * of retry (each level's chain sees it on the way out), so the first sighting is the only one acted on.
 * The registered-symbol mark covers a second copy of this package on the same instance.
 */
const seen = new WeakSet<object>();
const SEEN_MARK = Symbol.for('axios-resilience.dead-letter.seen');

function firstSighting(error: object): boolean {
  if (seen.has(error) || (error as Record<symbol, unknown>)[SEEN_MARK] === true) return false;
  seen.add(error);
  try {
    Object.defineProperty(error, SEEN_MARK, { value: true, enumerable: false });
  } catch {
    // A frozen error keeps only the WeakSet entry.
  }
  return true;
}

/** Calls a user callback without letting it throw or reject into the caller's path. */
function callQuietly<T>(
  callback: ((value: T) => unknown) | undefined,
  value: T,
  onError: (error: unknown) => void,
): void {
  if (!callback) return;
  try {
    const result = callback(value);
    if (result && typeof (result as PromiseLike<unknown>).then === 'function') {
      (result as PromiseLike<unknown>).then(undefined, onError);
    }
  } catch (error) {
    onError(error);
  }
}

/** A one-line message for a sink failure, with no secret of the request in it. */
function sinkFailure(cause: unknown, secrets: readonly string[]): ResilienceError {
  const raw = cause instanceof Error ? cause.message : String(cause);
  const clean = scrubSecrets(raw.split('\n')[0].slice(0, 300), secrets);
  return new ResilienceError('ERR_DEAD_LETTER_SINK', `the dead-letter sink failed: ${clean}`, { cause });
}

/** Stores the record, or rejects after `timeoutMs`. A put that settles after the timeout is ignored. */
function putWithin(
  sink: DeadLetterSink,
  record: DeadLetterRecord,
  timeoutMs: number,
  clock: Clock,
  secrets: readonly string[],
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const timer = clock.setTimeout(() => {
      if (settled) return;
      settled = true;
      reject(
        new ResilienceError(
          'ERR_DEAD_LETTER_SINK_TIMEOUT',
          `the dead-letter sink did not store the record within ${timeoutMs} ms`,
        ),
      );
    }, timeoutMs);
    let put: Promise<void>;
    try {
      put = Promise.resolve(sink.put(record));
    } catch (error) {
      put = Promise.reject(error);
    }
    put.then(
      () => {
        if (settled) return;
        settled = true;
        clock.clearTimeout(timer);
        resolve();
      },
      (error: unknown) => {
        if (settled) return;
        settled = true;
        clock.clearTimeout(timer);
        reject(sinkFailure(error, secrets));
      },
    );
  });
}

async function deadLetter(
  error: object,
  config: AxiosRequestConfig,
  options: ResolvedDeadLetterOptions,
): Promise<void> {
  const report = (during: DeadLetterSinkErrorState['during'], cause: unknown, record?: DeadLetterRecord) =>
    callQuietly(options.onSinkError, { error: cause, during, record, failure: error }, () => undefined);

  const described: DescribedRequest = describeRequest(error, config, options);
  // The view never shows the body: do not keep its bytes alive for as long as the error lives.
  installRedactedToJSON(error, { ...described, captured: { kind: 'none' } });

  const wanted = await shouldDeadLetter(error, config, options, (cause) => report('filter', cause));
  if (!wanted) return;

  let record: DeadLetterRecord;
  try {
    record = await buildDeadLetterRecord(
      error,
      config,
      options,
      { id: options.generateId(), createdAt: options.clock.now() },
      described,
    );
  } catch (cause) {
    const failure = sinkFailure(cause, described.secrets);
    setFailureSummary(error, { deadLetterError: failure });
    report('record', cause);
    return;
  }

  try {
    await putWithin(options.sink, record, options.sinkTimeoutMs, options.clock, described.secrets);
  } catch (cause) {
    setFailureSummary(error, { deadLetterError: cause });
    report('put', cause, record);
    return;
  }
  setFailureSummary(error, { deadLetterId: record.id });
  callQuietly(options.onDeadLetter, record, (cause) => report('onDeadLetter', cause, record));
}

function createResponseErrorHandler(options: ResolvedDeadLetterOptions): ResponseRejectedHandler {
  return async (error: unknown) => {
    if (typeof error !== 'object' || error === null) throw error;
    // A caller's cancellation is not a failure of the operation: nothing to record or annotate.
    if (axios.isCancel(error)) throw error;
    if (!firstSighting(error)) throw error;
    if (!axios.isAxiosError(error) && !isResilienceError(error)) throw error;
    const config = (error as { config?: AxiosRequestConfig }).config;
    ensureFailureSummary(error, config);
    // Without the request config (a rate-limit rejection from a limiter that does not attach it) there is
    // no request to record: the error passes through with its summary only.
    if (typeof config !== 'object' || config === null) throw error;
    try {
      await deadLetter(error, config, options);
    } catch {
      // Whatever went wrong in here, the caller must still get the original error.
    }
    throw error;
  };
}

/**
 * The dead-letter stage as raw interceptors: `instance.interceptors.response.use(...response)`. Register
 * it after any retry interceptor so it sees only final failures. Prefer `attachDeadLetter`, which keeps
 * the stage in its place whatever the attach order.
 */
export function createDeadLetterInterceptors(options?: DeadLetterOptions): DeadLetterInterceptors {
  const resolved = resolveDeadLetterOptions(options);
  return { response: [(response) => response, createResponseErrorHandler(resolved)] };
}

/**
 * Records every final failure of a write (after retry gave up, a non-retryable answer, a rate-limit
 * rejection) in a sink, once per operation, redacted, and hands the caller the original error with
 * `error.resilience.deadLetterId` (or `deadLetterError` when the sink failed).
 */
export function attachDeadLetter(instance: AxiosInstance, options?: DeadLetterOptions): DeadLetterAttachment {
  if (typeof (instance as Partial<AxiosInstance> | undefined)?.interceptors?.response?.use !== 'function') {
    throw optionError('instance', 'an axios instance', instance);
  }
  const resolved = resolveDeadLetterOptions(options);
  const attachment = registerLayer(
    instance,
    {
      name: 'dead-letter',
      responseStage: RESPONSE_STAGE.deadLetter,
      onResponseError: createResponseErrorHandler(resolved),
    },
    resolved.clock,
  );
  return { eject: () => attachment.eject(), sink: resolved.sink };
}
