import axios, {
  type AxiosInstance,
  type AxiosRequestConfig,
  type AxiosResponse,
  type CancelToken,
  type InternalAxiosRequestConfig,
} from 'axios';
import {
  getResilience,
  isRateLimitedError,
  registerLayer,
  REQUEST_STAGE,
  RESPONSE_STAGE,
  setFailureSummary,
  type Attachment,
  type HeaderSource,
} from '@axios-resilience/core';
import { namesRateLimit, pauseFromHeaders } from './learn-from-headers';
import type { RateLimitPermit } from './limiter';
import { resolveRateLimitOptions, type RateLimitOptions, type ResolvedRateLimitOptions } from './rate-limit-options';

/** The rate-limit layer's interceptors, for `instance.interceptors.*.use(...)` by hand. */
export interface RateLimitInterceptors {
  /**
   * Waits for a token. Rejects, with nothing sent, with `RateLimitedError` when none comes within
   * `maxWaitMs` or the line is full, and with `CanceledError` when the request's signal aborts.
   */
  request: [(config: InternalAxiosRequestConfig) => Promise<InternalAxiosRequestConfig>];
  /** Completes the attempt's permit and learns pauses from the answer; both pass the answer or error on unchanged. */
  response: [(response: AxiosResponse) => AxiosResponse, (error: unknown) => never];
}

interface InFlight {
  key: string;
  permit: RateLimitPermit | void;
}

/**
 * An AbortSignal that aborts when `signal` does or when axios's (deprecated) `CancelToken` is cancelled, so
 * a limiter that watches signals only also stops waiting for the token. `stop` drops both listeners.
 */
function signalFollowing(
  signal: AbortSignal | undefined,
  cancelToken: CancelToken,
): { signal: AbortSignal; stop(): void } {
  const controller = new AbortController();
  const abort = () => controller.abort();
  if (signal?.aborted) abort();
  signal?.addEventListener('abort', abort, { once: true });
  cancelToken.subscribe(abort);
  return {
    signal: controller.signal,
    stop() {
      signal?.removeEventListener('abort', abort);
      cancelToken.unsubscribe(abort);
    },
  };
}

function createHandlers(resolved: ResolvedRateLimitOptions) {
  const { limiter, maxWaitMs, maxQueue, clock } = resolved;
  // A permit is an object with behaviour, which does not belong in the copyable data of `config.resilience`.
  // It rides on that object under a symbol of this layer's own (two limiters on one instance each have
  // theirs): the same object travels from the request stage to the response (even through a layer that
  // copies the config), while axios's merge for a retry copies string keys only, so a retry starts without
  // one and takes its own. JSON leaves symbol keys out. (A WeakMap did the same at ten times the cost.)
  const permitSlot = Symbol('axios-resilience rate-limit permit');
  type StateWithPermit = { [slot: symbol]: InFlight | undefined };

  function keyFor(config: AxiosRequestConfig): string {
    const override = config.resilience?.rateLimitKey;
    if (typeof override === 'string' && override.length > 0) return override;
    return String(resolved.key(config));
  }

  function markRateLimited(error: unknown, config: AxiosRequestConfig): void {
    const state = getResilience(config);
    setFailureSummary(error, {
      attempts: state.attempt ?? 1,
      totalDelayMs: state.totalDelayMs ?? 0,
      reason: 'rate-limited',
    });
    // The dead-letter layer needs the request; kept out of enumeration so logs never print its headers.
    Object.defineProperty(error, 'config', { value: config, enumerable: false, writable: true, configurable: true });
  }

  function hold(config: InternalAxiosRequestConfig, key: string, permit: RateLimitPermit | void): void {
    ((config.resilience ??= {}) as StateWithPermit)[permitSlot] = { key, permit };
  }

  async function waitForToken(config: InternalAxiosRequestConfig, key: string): Promise<InternalAxiosRequestConfig> {
    const cancelToken = config.cancelToken as CancelToken | undefined;
    // Something token-like without `subscribe` (not axios's CancelToken) is still checked once the wait is over.
    const cancellation =
      typeof cancelToken?.subscribe === 'function'
        ? signalFollowing(config.signal as AbortSignal | undefined, cancelToken)
        : undefined;
    let permit: RateLimitPermit | void;
    try {
      permit = await limiter.acquire(key, {
        signal: cancellation?.signal ?? (config.signal as AbortSignal | undefined),
        maxWaitMs,
        maxQueue,
      });
    } catch (error) {
      // Cancelled through the token: the caller gets axios's own cancel, as it would without the wait.
      if (cancelToken?.reason) throw cancelToken.reason;
      if (isRateLimitedError(error)) markRateLimited(error, config);
      throw error;
    } finally {
      cancellation?.stop();
    }
    if (cancelToken?.reason) {
      // Cancelled as the token came: axios will refuse to send, and its cancel carries no config by which the
      // response side could give the token back, so it is given back here.
      try {
        permit?.complete();
      } catch {
        // A custom limiter's bookkeeping must not hide the cancel.
      }
      throw cancelToken.reason;
    }
    hold(config, key, permit);
    return config;
  }

  /** Synchronous when the limiter has a token free at once (no promise, no microtask); waits otherwise. */
  const onRequest = (
    config: InternalAxiosRequestConfig,
  ): InternalAxiosRequestConfig | Promise<InternalAxiosRequestConfig> => {
    // axios refuses to send a request whose CancelToken is cancelled, with a cancel that carries no config: a
    // token taken for it could never be given back.
    if ((config.cancelToken as CancelToken | undefined)?.reason) return config;
    const key = keyFor(config);
    if (limiter.tryAcquire !== undefined && !(config.signal as AbortSignal | undefined)?.aborted) {
      let permit: RateLimitPermit | undefined;
      try {
        permit = limiter.tryAcquire(key);
      } catch {
        // A custom limiter's fast path that throws leaves the decision to `acquire`.
        permit = undefined;
      }
      if (permit !== undefined) {
        // `hold`, written out: this is the path nearly every request takes.
        ((config.resilience ??= {}) as StateWithPermit)[permitSlot] = { key, permit };
        return config;
      }
    }
    return waitForToken(config, key);
  };

  /** The answer is in: the permit's send is complete. Returns the key the request drew from. */
  function settle(config: AxiosRequestConfig | undefined): string | undefined {
    const state = config?.resilience as StateWithPermit | undefined;
    if (!state) return undefined;
    const entry = state[permitSlot];
    if (!entry) return undefined;
    // Cleared, not deleted: deleting a property would turn the object into a slow dictionary.
    state[permitSlot] = undefined;
    try {
      entry.permit?.complete();
    } catch {
      // A custom limiter's bookkeeping must not turn an answer into a failure.
    }
    return entry.key;
  }

  /**
   * Pauses the key for as long as the answer asks. Its callers check first that learning is on and that the
   * answer may ask (a 429, or rate-limit headers), written out at each: every answer passes there.
   */
  function learn(
    config: AxiosRequestConfig | undefined,
    key: string | undefined,
    status: number,
    headers: HeaderSource,
  ) {
    const now = clock.now();
    const pause = pauseFromHeaders(status, headers, now);
    if (!pause) return;
    let bucket = key;
    if (bucket === undefined) {
      try {
        bucket = config ? keyFor(config) : undefined;
      } catch {
        bucket = undefined;
      }
    }
    if (bucket === undefined) return;
    const untilMs = now + pause.delayMs;
    try {
      // Not awaited: a shared limiter writes the pause to its store, and the answer must not wait on that.
      Promise.resolve(limiter.pause(bucket, untilMs)).catch(() => {});
    } catch {
      // pause() is specified never to throw; a custom limiter that does must not hide the response.
    }
    if (resolved.onPause) {
      const state = { key: bucket, untilMs, delayMs: pause.delayMs, source: pause.source, status };
      try {
        Promise.resolve(resolved.onPause(state)).catch(() => {});
      } catch {
        // An observer that throws changes nothing.
      }
    }
  }

  const onResponse = (response: AxiosResponse): AxiosResponse => {
    const key = settle(response.config);
    const headers = response.headers as HeaderSource;
    // Most answers are neither a 429 nor carry a rate-limit header: they cost no more than this check.
    if (resolved.learn && (response.status === 429 || namesRateLimit(headers))) {
      learn(response.config, key, response.status, headers);
    }
    return response;
  };

  const onResponseError = (error: unknown): never => {
    if (axios.isAxiosError(error)) {
      const key = settle(error.config);
      const answer = error.response;
      const headers = answer?.headers as HeaderSource;
      if (answer && resolved.learn && (answer.status === 429 || namesRateLimit(headers))) {
        learn(error.config, key, answer.status, headers);
      }
    }
    throw error;
  };

  return { onRequest, onResponse, onResponseError };
}

/** The rate-limit layer's raw interceptors, for people who wire `instance.interceptors` by hand. */
export function createRateLimitInterceptors(options: RateLimitOptions): RateLimitInterceptors {
  const { onRequest, onResponse, onResponseError } = createHandlers(resolveRateLimitOptions(options));
  return { request: [async (config) => onRequest(config)], response: [onResponse, onResponseError] };
}

/**
 * Paces an axios instance below its upstream's limit: every attempt, retries included, takes a token
 * before it is sent, waiting first in, first out up to `maxWaitMs`; responses that say the budget is
 * spent pause the key.
 */
export function attachRateLimit(instance: AxiosInstance, options: RateLimitOptions): Attachment {
  const resolved = resolveRateLimitOptions(options);
  const { onRequest, onResponse, onResponseError } = createHandlers(resolved);
  return registerLayer(
    instance,
    {
      name: 'rate-limit',
      requestStage: REQUEST_STAGE.rateLimit,
      request: onRequest,
      responseStage: RESPONSE_STAGE.rateLimitLearner,
      onResponse,
      onResponseError,
    },
    resolved.clock,
  );
}
