import type { AxiosInstance, AxiosRequestConfig, InternalAxiosRequestConfig } from 'axios';
import {
  getResilience,
  registerLayer,
  REQUEST_STAGE,
  requestMethod,
  requestUrl,
  type Attachment,
  type RequestHandler,
} from '@axios-resilience/core';
import {
  resolveChaosOptions,
  type ChaosFaultState,
  type ChaosOptions,
  type ResolvedChaosOptions,
} from './chaos-options';
import { createFaultAdapter, restoreOriginalAdapter } from './fault-adapter';
import { pickerFromResolved } from './fault-picker';
import { refuseInProduction } from './production-guard';

/**
 * The `match` verdict: a boolean when the predicate answers at once, a promise only when it returns one. A
 * predicate that throws or rejects means no match: a broken predicate must never turn into injected
 * failures on requests nobody chose.
 */
function matches(options: ResolvedChaosOptions, config: InternalAxiosRequestConfig): boolean | Promise<boolean> {
  if (!options.match) return true;
  let verdict: boolean | Promise<boolean>;
  try {
    verdict = options.match(config);
  } catch {
    return false;
  }
  if (typeof (verdict as { then?: unknown } | null)?.then !== 'function') return verdict === true;
  return Promise.resolve(verdict).then(
    (answer) => answer === true,
    () => false,
  );
}

function safeUrl(config: AxiosRequestConfig): string {
  try {
    return requestUrl(config);
  } catch {
    return config.url ?? '';
  }
}

function report(options: ResolvedChaosOptions, state: ChaosFaultState): void {
  if (!options.onFault) return;
  try {
    Promise.resolve(options.onFault(state)).catch(() => undefined);
  } catch {}
}

/**
 * The request-side handler: for each matching attempt it draws once and, on a fault, swaps in an adapter
 * that makes the fault for this attempt only.
 */
function chaosRequestHandler(
  options: ResolvedChaosOptions,
  defaultAdapter: () => AxiosRequestConfig['adapter'],
): RequestHandler {
  const pick = pickerFromResolved(options);
  const inject = (config: InternalAxiosRequestConfig): InternalAxiosRequestConfig => {
    const fault = pick();
    if (!fault) return config;
    report(options, {
      fault,
      method: requestMethod(config),
      url: safeUrl(config),
      attempt: getResilience(config).attempt ?? 1,
    });
    config.adapter = createFaultAdapter(fault, config.adapter ?? defaultAdapter(), options.clock);
    return config;
  };
  // Synchronous unless `match` returns a promise, so a request with chaos attached does not wait a tick.
  return (config) => {
    restoreOriginalAdapter(config);
    const verdict = matches(options, config);
    if (verdict === true) return inject(config);
    if (verdict === false) return config;
    return verdict.then((matched) => (matched ? inject(config) : config));
  };
}

/**
 * Injects faults into a share of the instance's requests, at the adapter: the failures leave through
 * axios's own response path and every other layer (retry, dead letter, ...) sees them exactly as it would
 * see real ones. Each attempt, retries included, draws again. Throws `ERR_CHAOS_REFUSED` when
 * `NODE_ENV` is `production` unless `allowInProduction` is set, and a `TypeError` for a wrong option.
 */
export function attachChaos(instance: AxiosInstance, options?: ChaosOptions): Attachment {
  const resolved = resolveChaosOptions(options);
  refuseInProduction('attachChaos', resolved.allowInProduction);
  return registerLayer(instance, {
    name: 'chaos',
    requestStage: REQUEST_STAGE.chaos,
    request: chaosRequestHandler(resolved, () => instance.defaults.adapter),
  });
}

/**
 * The chaos handler as a raw request interceptor, for wiring by hand:
 * `instance.interceptors.request.use(...createChaosInterceptors(options).request)`. Register it before your
 * other request interceptors: axios runs them last-registered-first, so the first one runs right before the
 * adapter, where a fault belongs.
 */
export function createChaosInterceptors(options?: ChaosOptions): { request: [RequestHandler] } {
  const resolved = resolveChaosOptions(options);
  refuseInProduction('createChaosInterceptors', resolved.allowInProduction);
  return { request: [chaosRequestHandler(resolved, () => undefined)] };
}
