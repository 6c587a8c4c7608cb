import {
  assertFunction,
  assertKnownKeys,
  assertPlainObject,
  assertPositiveInteger,
  assertPositiveNumber,
  systemClock,
  type Clock,
} from '@axios-resilience/core';
import type { DeadLetterRecord } from './record';
import { assertSink, type DeadLetterSink } from './sink';

/** A record as an alert shows it: where it went and why it failed, never headers or bodies. */
export interface DeadLetterSample {
  /** The record's id, for `axios-resilience-dlq show` or `replay --id`. */
  id: string;
  /** When the record was made (ISO 8601). */
  createdAt: string;
  /** Upper-case HTTP method. */
  method: string;
  /** Already redacted when the record was made. */
  url: string;
  /** Why the operation was given up (the failure summary's reason). */
  reason: DeadLetterRecord['reason'];
  /** The last answer's HTTP status, `null` when there was none. */
  status: number | null;
}

/** What `notify` is told when the queue reaches the threshold. */
export interface DlqAlert {
  /** Records in the sink. */
  count: number;
  /** The threshold that was reached. */
  threshold: number;
  /** The oldest few records. */
  samples: DeadLetterSample[];
}

/** What one `check()` found. */
export interface DlqCheck {
  /** Records in the sink. */
  count: number;
  /** True when this check sent an alert. */
  notified: boolean;
}

/** Options of `createDlqMonitor`. */
export interface DlqMonitorOptions {
  /** The sink to watch. Required. */
  sink: DeadLetterSink;
  /**
   * Called once each time the count reaches `threshold` from below, and awaited. If it throws, the alert
   * counts as not sent and the next check tries again. Required.
   */
  notify: (alert: DlqAlert) => void | Promise<void>;
  /** Time between checks once started. @default 60_000 */
  intervalMs?: number;
  /** The count at which to alert. @default 1 */
  threshold?: number;
  /** How many records an alert carries as samples. @default 5 */
  sampleSize?: number;
  /**
   * Told when a check the monitor runs on its own fails (the sink or `notify` threw); the monitor keeps
   * going. A `check()` you call rejects to you instead. Errors it throws are ignored.
   * @default undefined (failures are dropped)
   */
  onError?: (error: unknown) => void;
  /**
   * The timers the checks are scheduled on.
   * @default the global timers, read at call time
   */
  clock?: Clock;
}

/** A running watch over a sink's size; `createDlqMonitor` makes one stopped. */
export interface DlqMonitor {
  /** Checks now and then every `intervalMs`. The timer does not keep a Node process alive on its own. */
  start(): void;
  /** Cancels the next timed check; a check already running finishes. `start()` resumes. */
  stop(): void;
  /** One check: counts, and notifies when the count has just reached the threshold. */
  check(): Promise<DlqCheck>;
}

/** A check a minute, an alert from the first record, five samples per alert. */
export const DEFAULT_DLQ_MONITOR_OPTIONS = Object.freeze({ intervalMs: 60_000, threshold: 1, sampleSize: 5 });

/** A redacted sample of a record, for alerts. */
export function sampleOf(record: DeadLetterRecord): DeadLetterSample {
  return {
    id: record.id,
    createdAt: record.createdAt,
    method: record.method,
    url: record.url,
    reason: record.reason,
    status: record.error?.status ?? null,
  };
}

/**
 * Watches a sink's size and alerts when it reaches `threshold`: once per crossing, so a queue that stays
 * full does not page every minute, and again after it has dropped below and filled up again.
 */
export function createDlqMonitor(options: DlqMonitorOptions): DlqMonitor {
  assertPlainObject('createDlqMonitor(options)', options);
  assertKnownKeys('dlqMonitor', options as unknown as Record<string, unknown>, [
    'sink',
    'notify',
    'intervalMs',
    'threshold',
    'sampleSize',
    'onError',
    'clock',
  ]);
  const defined = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  const settings = {
    ...DEFAULT_DLQ_MONITOR_OPTIONS,
    ...(defined as unknown as DlqMonitorOptions),
    clock: options.clock ?? systemClock,
  };
  assertSink('dlqMonitor.sink', settings.sink);
  assertFunction('dlqMonitor.notify', settings.notify);
  assertPositiveNumber('dlqMonitor.intervalMs', settings.intervalMs);
  assertPositiveInteger('dlqMonitor.threshold', settings.threshold);
  assertPositiveInteger('dlqMonitor.sampleSize', settings.sampleSize);
  if (settings.onError !== undefined) assertFunction('dlqMonitor.onError', settings.onError);
  const { sink, clock } = settings;

  let alerted = false;
  let timer: unknown;
  let running = false;
  let inFlight: Promise<DlqCheck> | undefined;

  async function runCheck(): Promise<DlqCheck> {
    const count = await sink.size();
    if (count < settings.threshold) {
      alerted = false;
      return { count, notified: false };
    }
    if (alerted) return { count, notified: false };
    const samples = (await sink.list({ limit: settings.sampleSize })).map(sampleOf);
    await settings.notify({ count, threshold: settings.threshold, samples });
    // Only a delivered alert counts: a failed one is tried again on the next check.
    alerted = true;
    return { count, notified: true };
  }

  function check(): Promise<DlqCheck> {
    // Overlapping checks (a slow sink, a manual check during a timed one) share one run, so one crossing
    // can never send two alerts.
    inFlight ??= runCheck().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  function schedule(): void {
    if (!running) return;
    timer = clock.setTimeout(() => {
      check()
        .catch((error: unknown) => {
          try {
            settings.onError?.(error);
          } catch {
            // An error reporter that throws must not stop the monitor.
          }
        })
        .finally(schedule);
    }, settings.intervalMs);
    (timer as { unref?: () => void } | undefined)?.unref?.();
  }

  return {
    start() {
      if (running) return;
      running = true;
      check()
        .catch((error: unknown) => settings.onError?.(error))
        .catch(() => undefined)
        .finally(schedule);
    },
    stop() {
      running = false;
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
    },
    check,
  };
}
