import {
  getFailureSummary,
  getResilience,
  isRateLimitedError,
  requestMethod,
  setFailureSummary,
  type FailureSummary,
} from '@axios-resilience/core';
import type { AxiosRequestConfig } from 'axios';

/** The decision inputs: the resolved `methods` and `filter` options. */
export interface DecisionSettings {
  /** Upper-case methods recorded when neither the request nor `filter` decides. */
  methods: readonly string[];
  /** See `DeadLetterOptions.filter`. */
  filter?: (error: unknown) => boolean | undefined | Promise<boolean | undefined>;
}

/**
 * Whether a final failure is recorded. Precedence: the request's own `resilience.deadLetter` (`true`
 * forces, `false` skips), then `filter(error)` when it answers a boolean, then `methods`. A `filter` that
 * throws counts as no answer; `onFilterError` hears about it.
 */
export async function shouldDeadLetter(
  error: unknown,
  config: AxiosRequestConfig,
  settings: DecisionSettings,
  onFilterError: (error: unknown) => void = () => undefined,
): Promise<boolean> {
  const requested = getResilience(config).deadLetter;
  if (requested === true || requested === false) return requested;
  if (settings.filter) {
    try {
      const verdict = await settings.filter(error);
      if (verdict === true || verdict === false) return verdict;
    } catch (filterError) {
      onFilterError(filterError);
    }
  }
  return settings.methods.includes(requestMethod(config));
}

/**
 * Gives a final failure its summary when no layer did: retry is not attached, or the failure was one
 * retry never judged (a rate-limit rejection, a 4xx on an instance without retry).
 */
export function ensureFailureSummary(
  error: unknown,
  config: AxiosRequestConfig | undefined,
): FailureSummary | undefined {
  const existing = getFailureSummary(error);
  if (existing) return existing;
  const state = getResilience(config);
  return setFailureSummary(error, {
    attempts: state.attempt ?? 1,
    totalDelayMs: state.totalDelayMs ?? 0,
    reason: isRateLimitedError(error) ? 'rate-limited' : 'not-retryable',
  });
}
