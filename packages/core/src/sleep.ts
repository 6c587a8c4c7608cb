import { CanceledError } from 'axios';
import { systemClock, type Clock } from './clock';

/** Options of `sleep`. */
export interface SleepOptions {
  /** Rejects the wait at once with axios's `CanceledError` when aborted. */
  signal?: AbortSignal | null;
  /** @default systemClock */
  clock?: Clock;
}

/** axios's own cancellation error, so callers' `axios.isCancel` checks keep working. */
export function canceledError(signal?: AbortSignal | null): CanceledError<unknown> {
  const reason = signal?.reason;
  const message = reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : 'canceled';
  return new CanceledError(message);
}

/**
 * Waits `ms`, or rejects at once with axios's `CanceledError` when the signal aborts (before or during the
 * wait). The timer is cleared on abort so nothing keeps the process alive.
 */
export function sleep(ms: number, options: SleepOptions = {}): Promise<void> {
  const { signal, clock = systemClock } = options;
  if (signal?.aborted) return Promise.reject(canceledError(signal));
  if (ms <= 0 && !signal) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clock.clearTimeout(handle);
      reject(canceledError(signal));
    };
    const handle = clock.setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
