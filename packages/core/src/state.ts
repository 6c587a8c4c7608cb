import type { AxiosRequestConfig } from 'axios';

/**
 * What a caller may set per request under `config.resilience`. Each layer package widens this interface
 * with its own override (the retry package adds `retry`), so the type grows with what is installed.
 */
export interface ResilienceRequestOptions {
  /** Use this idempotency key, or `false` to send none. */
  idempotencyKey?: string | false;
  /** The rate-limit bucket for this request, instead of the limiter's `key(config)`. */
  rateLimitKey?: string;
  /** Force (`true`) or skip (`false`) dead-lettering this request if it finally fails. */
  deadLetter?: boolean;
}

/**
 * What the layers record about one logical operation while it runs. Small, copyable data only: axios
 * copies plain objects when it merges configs, and a retry re-sends the config through the whole chain.
 */
export interface ResilienceState {
  /** Attempts sent so far, the current one included (1 on the first attempt). */
  attempt?: number;
  /** Epoch ms when the first attempt entered the chain. */
  firstAttemptAt?: number;
  /** Epoch ms when the latest attempt left the request chain for the adapter. */
  lastAttemptAt?: number;
  /** Sum of the waits retry has scheduled for this operation. */
  totalDelayMs?: number;
}

/** Everything under `config.resilience`: the caller's overrides and the layers' state. */
export type ResilienceConfig = ResilienceRequestOptions & ResilienceState;

/** Why an operation finally failed. */
export type FailureReason =
  | 'not-retryable'
  | 'retries-exhausted'
  | 'retry-after-too-long'
  | 'total-delay-exceeded'
  | 'deadline-exceeded'
  | 'budget-exhausted'
  | 'rate-limited';

/** The summary a final failure carries at `error.resilience`. */
export interface FailureSummary {
  attempts: number;
  totalDelayMs: number;
  reason: FailureReason;
  /** Set when the dead-letter layer stored the operation. */
  deadLetterId?: string;
  /** Set when the dead-letter layer could not store it; the original error is still the one thrown. */
  deadLetterError?: unknown;
}

/** The config key the suite keeps its per-request data under (a string: axios drops symbol keys when merging). */
export const RESILIENCE_KEY = 'resilience';

type ConfigLike = Pick<AxiosRequestConfig, 'resilience'> | undefined | null;

/** Reads `config.resilience` without creating it. */
export function getResilience(config: ConfigLike): Readonly<ResilienceConfig> {
  return (config?.resilience as ResilienceConfig | undefined) ?? {};
}

/**
 * Writes into `config.resilience`, creating it when absent. Mutating in place is safe: axios gives every
 * request its own merged copy of plain objects, so no two requests share this object.
 */
export function updateResilience(
  config: Pick<AxiosRequestConfig, 'resilience'>,
  patch: Partial<ResilienceConfig>,
): ResilienceConfig {
  const current = (config.resilience ??= {}) as ResilienceConfig;
  Object.assign(current, patch);
  return current;
}

type ErrorLike = { resilience?: FailureSummary } | null | undefined;

/** The final-failure summary on an error, if a layer set one. */
export function getFailureSummary(error: unknown): FailureSummary | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  return (error as ErrorLike)?.resilience;
}

/** Sets or amends `error.resilience`. Kept enumerable so it shows in logs and `JSON.stringify`. */
export function setFailureSummary(error: unknown, summary: Partial<FailureSummary>): FailureSummary | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const target = error as { resilience?: FailureSummary };
  const merged = { ...(target.resilience ?? { attempts: 1, totalDelayMs: 0, reason: 'not-retryable' }), ...summary };
  target.resilience = merged as FailureSummary;
  return target.resilience;
}
