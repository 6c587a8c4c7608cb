import axios, {
  AxiosError,
  AxiosHeaders,
  type AxiosAdapter,
  type AxiosRequestConfig,
  type AxiosResponse,
  type InternalAxiosRequestConfig,
} from 'axios';
import { sleep, type Clock } from '@axios-resilience/core';
import { statusFaultHeaders, statusText, type ResolvedChaosFault, type ResolvedStatusFault } from './fault';

type AdapterConfig = AxiosRequestConfig['adapter'];

/** Registered symbols, so a second installed copy of the package still recognises our wrappers and marks. */
const ORIGINAL_ADAPTER = Symbol.for('axios-resilience.chaos.original-adapter');
const INJECTED_FAULT = Symbol.for('axios-resilience.chaos.fault');

/** What stands in for the transport's request object on an injected failure (`error.request` is set on real ones). */
const INJECTED_REQUEST = Object.freeze({ injectedBy: '@axios-resilience/chaos' });

interface FaultAdapter extends AxiosAdapter {
  [ORIGINAL_ADAPTER]: { adapter: AdapterConfig };
}

function isFaultAdapter(value: unknown): value is FaultAdapter {
  return typeof value === 'function' && ORIGINAL_ADAPTER in value;
}

/**
 * A retry re-sends the config of the failed attempt, which still carries that attempt's fault adapter.
 * Putting the real adapter back first lets every attempt draw afresh.
 */
export function restoreOriginalAdapter(config: AxiosRequestConfig): void {
  if (isFaultAdapter(config.adapter)) config.adapter = config.adapter[ORIGINAL_ADAPTER].adapter;
}

/** The fault chaos injected into this error or response, or `undefined` for a real one. */
export function getInjectedFault(errorOrResponse: unknown): ResolvedChaosFault | undefined {
  if (typeof errorOrResponse !== 'object' || errorOrResponse === null) return undefined;
  return (errorOrResponse as { [INJECTED_FAULT]?: ResolvedChaosFault })[INJECTED_FAULT];
}

function mark<T extends object>(target: T, fault: ResolvedChaosFault): T {
  Object.defineProperty(target, INJECTED_FAULT, { value: fault, enumerable: false, configurable: true });
  return target;
}

function requestTimeout(config: InternalAxiosRequestConfig): number {
  const timeout = Number(config.timeout ?? 0);
  return Number.isFinite(timeout) && timeout > 0 ? timeout : 0;
}

function signalOf(config: InternalAxiosRequestConfig): AbortSignal | undefined {
  return (config.signal as AbortSignal | undefined) ?? undefined;
}

/** The error axios's own adapters raise when `timeout` runs out. */
function timeoutError(config: InternalAxiosRequestConfig, ms: number, fault: ResolvedChaosFault): AxiosError {
  const message = config.timeoutErrorMessage || `timeout of ${ms}ms exceeded`;
  const code = config.transitional?.clarifyTimeoutError ? AxiosError.ETIMEDOUT : AxiosError.ECONNABORTED;
  return mark(new AxiosError(message, code, config, INJECTED_REQUEST), fault);
}

const NETWORK_MESSAGES: Readonly<Record<string, string>> = {
  ECONNRESET: 'socket hang up',
  EPIPE: 'write EPIPE',
  ETIMEDOUT: 'connect ETIMEDOUT',
};

/** The error a failed socket produces in axios: the system code on the error and on its `cause`. */
function networkError(config: InternalAxiosRequestConfig, code: string, fault: ResolvedChaosFault): AxiosError {
  let message = NETWORK_MESSAGES[code];
  if (message === undefined) {
    let host = 'unknown';
    try {
      host = new URL(axios.getUri(config)).host;
    } catch {}
    message = code === 'EAI_AGAIN' || code === 'ENOTFOUND' ? `getaddrinfo ${code} ${host}` : `connect ${code} ${host}`;
  }
  const error = new AxiosError(message, code, config, INJECTED_REQUEST);
  (error as { cause?: unknown }).cause = Object.assign(new Error(message), { code });
  return mark(error, fault);
}

function responseBody(config: InternalAxiosRequestConfig, body: string): unknown {
  if (config.responseType === 'arraybuffer') return new TextEncoder().encode(body).buffer;
  return body;
}

/** The answer a status fault makes, settled as axios settles real answers: `validateStatus` decides. */
function statusOutcome(config: InternalAxiosRequestConfig, fault: ResolvedStatusFault): AxiosResponse {
  const bodyLength = new TextEncoder().encode(fault.body).length;
  const response: AxiosResponse = mark(
    {
      data: responseBody(config, fault.body),
      status: fault.status,
      statusText: statusText(fault.status),
      headers: AxiosHeaders.from(statusFaultHeaders(fault, bodyLength)),
      config,
      request: INJECTED_REQUEST,
    },
    fault,
  );
  const validateStatus = config.validateStatus;
  if (!validateStatus || validateStatus(fault.status)) return response;
  throw mark(
    new AxiosError(
      `Request failed with status code ${fault.status}`,
      fault.status < 500 ? AxiosError.ERR_BAD_REQUEST : AxiosError.ERR_BAD_RESPONSE,
      config,
      INJECTED_REQUEST,
      response,
    ),
    fault,
  );
}

/** Lets a dropped answer go: a streamed body must be destroyed or its socket stays busy. */
function discard(response: AxiosResponse | undefined): void {
  const data = response?.data as { destroy?: () => void } | undefined;
  if (data && typeof data.destroy === 'function') {
    try {
      data.destroy();
    } catch {}
  }
}

/**
 * An adapter that makes `fault` happen for one attempt and otherwise defers to the real adapter, so the
 * failure leaves through axios's own response path like a real one. It acts once: if its config is ever
 * re-sent without the chaos layer to restore the real adapter, later calls simply go through.
 */
export function createFaultAdapter(fault: ResolvedChaosFault, original: AdapterConfig, clock: Clock): AxiosAdapter {
  let used = false;
  const realAdapter = (config: InternalAxiosRequestConfig) =>
    axios.getAdapter(original ?? axios.defaults.adapter, config)(config);

  const run = async (config: InternalAxiosRequestConfig): Promise<AxiosResponse> => {
    const signal = signalOf(config);
    const timeout = requestTimeout(config);
    switch (fault.kind) {
      case 'status':
        return statusOutcome(config, fault);
      case 'network':
        throw networkError(config, fault.code, fault);
      case 'latency':
        if (timeout > 0 && fault.ms >= timeout) {
          await sleep(timeout, { signal, clock });
          throw timeoutError(config, timeout, fault);
        }
        await sleep(fault.ms, { signal, clock });
        return realAdapter(config);
      case 'timeout': {
        const ms = timeout > 0 ? timeout : fault.ms;
        await sleep(ms, { signal, clock });
        throw timeoutError(config, ms, fault);
      }
      case 'drop-response': {
        const startedAt = clock.now();
        try {
          discard(await realAdapter(config));
        } catch (error) {
          // No answer at all (a real network failure or a cancel): that is the outcome, nothing to drop.
          if (!axios.isAxiosError(error) || !error.response) throw error;
          discard(error.response);
        }
        if (fault.error === 'timeout') {
          const ms = timeout > 0 ? timeout : fault.ms;
          await sleep(Math.max(0, ms - (clock.now() - startedAt)), { signal, clock });
          throw timeoutError(config, ms, fault);
        }
        throw networkError(config, 'ECONNRESET', fault);
      }
    }
  };

  const adapter = ((config: InternalAxiosRequestConfig) => {
    if (used) return realAdapter(config);
    used = true;
    return run(config);
  }) as FaultAdapter;
  adapter[ORIGINAL_ADAPTER] = { adapter: original };
  return adapter;
}
