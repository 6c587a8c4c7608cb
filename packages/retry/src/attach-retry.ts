import axios, { type AxiosError, type AxiosInstance, type AxiosResponse } from 'axios';
import {
  getFailureSummary,
  getResilience,
  isRateLimitedError,
  registerLayer,
  RESPONSE_STAGE,
  setFailureSummary,
  sleep,
  updateResilience,
  type Attachment,
  type FailureReason,
} from '@axios-resilience/core';
import { isRetryableFailure, decideRetry } from './retry-decision';
import { RetryBudget } from './retry-budget';
import { resolveRetryOptions, type ResolvedRetryOptions, type RetryOptions, type RetryState } from './retry-options';

declare module '@axios-resilience/core' {
  interface ResilienceRequestOptions {
    /** Per-request retry options over the instance's, or `false` to send this request once. */
    retry?: RetryOptions | false;
  }
  interface ResilienceState {
    /** The wait chosen before the latest retry (decorrelated jitter grows from it). */
    retryDelayMs?: number;
  }
}

/** The response half of the retry layer, for `instance.interceptors.response.use(...)`. */
export interface RetryInterceptors {
  /** `[onFulfilled, onRejected]` for `instance.interceptors.response.use`. */
  response: [(response: AxiosResponse) => AxiosResponse, (error: unknown) => Promise<AxiosResponse>];
}

async function callQuietly<T>(hook: ((state: T) => unknown) | undefined, state: T): Promise<void> {
  if (!hook) return;
  try {
    await hook(state);
  } catch {
    // A hook is for observing; a broken one must not change the outcome or hide the original error.
  }
}

function createHandlers(instance: AxiosInstance, resolved: ResolvedRetryOptions) {
  const budget = resolved.retryBudget
    ? new RetryBudget(
        resolved.retryBudget.minPerSecond,
        resolved.retryBudget.ratio,
        resolved.retryBudget.maxTokens,
        resolved.clock,
      )
    : undefined;

  function creditFirstAttempt(attempt: number | undefined): void {
    if (budget && (attempt ?? 1) === 1) budget.recordFirstAttempt();
  }

  async function giveUp(
    error: unknown,
    state: RetryState | undefined,
    reason: FailureReason,
    options: ResolvedRetryOptions,
  ): Promise<never> {
    setFailureSummary(error, {
      attempts: state?.attempt ?? 1,
      totalDelayMs: state?.totalDelayMs ?? 0,
      reason,
    });
    if (state) await callQuietly(options.onGiveUp, { ...state, reason });
    throw error;
  }

  const onFulfilled = (response: AxiosResponse): AxiosResponse => {
    // `creditFirstAttempt`, written out: every answer passes here.
    if (budget && (response.config?.resilience?.attempt ?? 1) === 1) budget.recordFirstAttempt();
    return response;
  };

  const onRejected = async (error: unknown): Promise<AxiosResponse> => {
    // A caller's cancellation passes through untouched, and so does a final failure coming back up
    // from a nested retry: it already has its summary.
    if (axios.isCancel(error) || getFailureSummary(error)) throw error;
    if (!axios.isAxiosError(error) || !error.config) {
      if (isRateLimitedError(error)) {
        const limited = getResilience(error.config);
        setFailureSummary(error, {
          attempts: limited.attempt ?? 1,
          totalDelayMs: limited.totalDelayMs ?? 0,
          reason: 'rate-limited',
        });
      }
      throw error;
    }
    const axiosError = error as AxiosError;
    const config = axiosError.config!;
    const recorded = getResilience(config);
    creditFirstAttempt(recorded.attempt);

    const override = recorded.retry;
    const state: RetryState = {
      error: axiosError,
      config,
      attempt: recorded.attempt ?? 1,
      status: axiosError.response?.status,
      code: axiosError.response ? undefined : axiosError.code,
      totalDelayMs: recorded.totalDelayMs ?? 0,
    };
    if (override === false) return giveUp(error, state, 'not-retryable', resolved);
    const options = override ? resolveRetryOptions(override, resolved, 'resilience.retry') : resolved;

    let retryable = isRetryableFailure(axiosError, options);
    if (options.shouldRetry) {
      try {
        const verdict = await options.shouldRetry(state);
        if (typeof verdict === 'boolean') retryable = verdict;
      } catch {
        // A predicate that throws keeps the built-in verdict rather than turning one failure into another.
      }
    }
    const now = options.clock.now();
    const decision = decideRetry({
      error: axiosError,
      options,
      retryable,
      attempt: state.attempt,
      totalDelayMs: state.totalDelayMs,
      firstAttemptAt: recorded.firstAttemptAt ?? now,
      previousDelayMs: recorded.retryDelayMs,
      now,
    });
    if (!decision.retry) return giveUp(error, state, decision.reason, options);
    if (budget && !budget.tryWithdraw()) return giveUp(error, state, 'budget-exhausted', options);

    await callQuietly(options.onRetry, { ...state, delayMs: decision.delayMs, source: decision.source });
    await sleep(decision.delayMs, { signal: config.signal as AbortSignal | undefined, clock: options.clock });
    updateResilience(config, {
      totalDelayMs: state.totalDelayMs + decision.delayMs,
      retryDelayMs: decision.delayMs,
    });
    return instance.request(config);
  };

  return { onFulfilled, onRejected };
}

/**
 * Retry's interceptors for hand wiring. A retry re-sends the request through `instance`, so the instance
 * the interceptors are installed on must be given.
 */
export function createRetryInterceptors(instance: AxiosInstance, options?: RetryOptions): RetryInterceptors {
  const { onFulfilled, onRejected } = createHandlers(instance, resolveRetryOptions(options));
  return { response: [onFulfilled, onRejected] };
}

/**
 * Installs retry on an axios instance: server timing hints first, exponential backoff with jitter
 * otherwise, a per-instance retry budget, and no retried write without an idempotency key.
 */
export function attachRetry(instance: AxiosInstance, options?: RetryOptions): Attachment {
  const resolved = resolveRetryOptions(options);
  const { onFulfilled, onRejected } = createHandlers(instance, resolved);
  return registerLayer(
    instance,
    { name: 'retry', responseStage: RESPONSE_STAGE.retry, onResponse: onFulfilled, onResponseError: onRejected },
    resolved.clock,
  );
}
