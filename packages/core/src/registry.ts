import type { AxiosInstance, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import { systemClock, type Clock } from './clock';
import { updateResilience } from './state';

/**
 * Where each layer sits in an attempt. Request side runs in ascending order before the adapter; response
 * side in ascending order after it. Gaps leave room for users' own layers.
 */
export const REQUEST_STAGE = { idempotency: 100, rateLimit: 200, chaos: 300 } as const;
/** Where each layer sits on the way back: the learner sees every answer first, the dead-letter queue last. */
export const RESPONSE_STAGE = { rateLimitLearner: 100, retry: 200, deadLetter: 300 } as const;

/** A layer's request step: may change the config, wait (a rate-limit token), or reject. */
export type RequestHandler = (
  config: InternalAxiosRequestConfig,
) => InternalAxiosRequestConfig | Promise<InternalAxiosRequestConfig>;
/** A layer's step for an answer that axios accepted. */
export type ResponseFulfilledHandler = (response: AxiosResponse) => AxiosResponse | Promise<AxiosResponse>;
/** A layer's step for a failure: return a response to recover (a retry did), or throw to pass it on. */
export type ResponseRejectedHandler = (error: unknown) => unknown;

/** One layer's part in the chain. */
export interface Layer {
  /** A name for diagnostics; two layers of the same name on one instance are allowed (for example two limiters). */
  name: string;
  requestStage?: number;
  request?: RequestHandler;
  responseStage?: number;
  onResponse?: ResponseFulfilledHandler;
  onResponseError?: ResponseRejectedHandler;
}

/** What `attachX` returns. */
export interface Attachment {
  /** Removes every interceptor this attachment added. Safe to call twice. */
  eject(): void;
}

interface Registry {
  layers: Layer[];
  /** The layers with a request step, kept in stage order as they register (never sorted per request). */
  requestLayers: Layer[];
  /** The layers with a response step, in stage order. */
  responseLayers: Layer[];
  /** The synchronous request interceptor's id, then the asynchronous one's (see `installInterceptors`). */
  requestIds: [number, number];
  responseId: number;
  clock: Clock;
  /** Where axios keeps the instance's request interceptors, to see whether ours runs first. */
  requestInterceptors: { handlers?: Array<{ fulfilled?: unknown } | null> };
  /** The two request interceptors' fulfilled handlers, as they appear in `handlers`. */
  synchronousStep: (config: InternalAxiosRequestConfig) => InternalAxiosRequestConfig;
  asynchronousStep: (
    config: InternalAxiosRequestConfig,
  ) => InternalAxiosRequestConfig | Promise<InternalAxiosRequestConfig>;
  /**
   * Whether this instance's axios hands an error thrown while it dispatches a request (a transformRequest that
   * throws, a signal aborted before sending) to the response interceptors when every request interceptor is
   * synchronous. Before 1.19 axios returns that error past them, where retry and the dead-letter queue would
   * never see it; so until a probe of the instance's own axios says yes, requests take the asynchronous path.
   */
  synchronousDispatchSafe: boolean;
  /** The config whose steps the synchronous interceptor has just run, for the asynchronous one to stand aside. */
  ranSynchronously: InternalAxiosRequestConfig | undefined;
  /** What the steps run early gave for a request that the asynchronous interceptor carries on. */
  earlyOutcomes: WeakMap<InternalAxiosRequestConfig, EarlyOutcome>;
}

/** A request's steps, run early: the config (or a promise of it) they gave, or the error one threw. */
type EarlyOutcome =
  | { failed: false; result: InternalAxiosRequestConfig | Promise<InternalAxiosRequestConfig> }
  | { failed: true; error: unknown };

const registries = new WeakMap<AxiosInstance, Registry>();

function byRequestStage(a: Layer, b: Layer): number {
  return (a.requestStage ?? 0) - (b.requestStage ?? 0);
}

function byResponseStage(a: Layer, b: Layer): number {
  return (a.responseStage ?? 0) - (b.responseStage ?? 0);
}

/**
 * Adds a layer to the instance's one ordered chain. axios runs request interceptors last-registered-first
 * and response interceptors first-registered-first, so layers that each called `interceptors.use` would
 * run in an order that depends on attach order. Instead core installs one set of interceptors per instance
 * (see `installInterceptors`) and runs the registered layers by stage.
 */
export function registerLayer(instance: AxiosInstance, layer: Layer, clock: Clock = systemClock): Attachment {
  let registry = registries.get(instance);
  if (!registry) {
    registry = installInterceptors(instance, clock);
    registries.set(instance, registry);
  }
  const owner = registry;
  owner.layers.push(layer);
  rebuildOrder(owner);
  let ejected = false;
  return {
    eject() {
      if (ejected) return;
      ejected = true;
      const index = owner.layers.indexOf(layer);
      if (index >= 0) owner.layers.splice(index, 1);
      rebuildOrder(owner);
      if (owner.layers.length === 0 && registries.get(instance) === owner) {
        for (const id of owner.requestIds) instance.interceptors.request.eject(id);
        instance.interceptors.response.eject(owner.responseId);
        registries.delete(instance);
      }
    },
  };
}

/**
 * Installs core's interceptors on an instance: one response interceptor, and a pair of request interceptors of
 * which axios runs exactly one per request.
 *
 * axios can send a request in the same tick as the call when every request interceptor it runs is marked
 * synchronous; one asynchronous interceptor puts the whole chain on promises, two more hops per request (about
 * a µs of CPU on a stub adapter, most of what core's dispatch costs). Whether our steps answer synchronously is
 * known only once they have run (a rate-limit token may have to be awaited), and axios chooses the path before
 * running any interceptor, when it asks each one's `runWhen`. So the synchronous interceptor's `runWhen` runs
 * the steps there, which is the same as running them in the chain only when ours is the interceptor axios
 * would run first (see `runsFirst`): then, if they answered with the config itself, that interceptor passes it
 * on synchronously; otherwise (a step waited, threw, or gave a new config) the asynchronous one carries what
 * they gave into the promise chain, so errors reach the response steps exactly as before. In any other case the
 * asynchronous interceptor runs the steps itself, in the chain, as it always has.
 */
function installInterceptors(instance: AxiosInstance, clock: Clock): Registry {
  const registry: Registry = {
    layers: [],
    requestLayers: [],
    responseLayers: [],
    requestIds: [-1, -1],
    responseId: -1,
    clock,
    requestInterceptors: instance.interceptors.request as Registry['requestInterceptors'],
    synchronousStep: (config) => config,
    asynchronousStep: (config) => {
      const early = registry.earlyOutcomes.get(config);
      if (early === undefined) return runRequest(registry, config);
      registry.earlyOutcomes.delete(config);
      if (early.failed) throw early.error;
      return early.result;
    },
    synchronousDispatchSafe: false,
    ranSynchronously: undefined,
    earlyOutcomes: new WeakMap(),
  };
  // axios asks both `runWhen`s in registration order, in one synchronous pass: the synchronous one first.
  registry.requestIds[0] = instance.interceptors.request.use(registry.synchronousStep, undefined, {
    synchronous: true,
    runWhen: (config) => runEarly(registry, config),
  });
  registry.requestIds[1] = instance.interceptors.request.use(registry.asynchronousStep, undefined, {
    runWhen: (config) => {
      const tookIt = registry.ranSynchronously === config;
      registry.ranSynchronously = undefined;
      return !tookIt;
    },
  });
  registry.responseId = instance.interceptors.response.use(
    (response) => runFulfilled(registry, response),
    (error) => chainFrom(registry.responseLayers, Promise.reject(error), 0),
  );
  probeSynchronousDispatch(instance, registry);
  return registry;
}

/** The synchronous interceptor's `runWhen`: runs the steps now when that is the same as running them first. */
function runEarly(registry: Registry, config: InternalAxiosRequestConfig): boolean {
  if (!registry.synchronousDispatchSafe || !runsFirst(registry, config)) return false;
  let early: EarlyOutcome;
  try {
    const result = runRequest(registry, config);
    if (result === config) {
      registry.ranSynchronously = config;
      return true;
    }
    early = { failed: false, result };
  } catch (error) {
    early = { failed: true, error };
  }
  registry.earlyOutcomes.set(config, early);
  return false;
}

/**
 * Whether ours is the request interceptor axios runs first, with no other's `runWhen` asked after ours: then
 * running our steps while axios asks ours changes nothing anyone can see. axios runs request interceptors
 * last-registered-first unless `transitional.legacyInterceptorReqResOrdering` is false (1.14 on): in that
 * order ours must be the last registered; in registration order, the only one.
 */
function runsFirst(registry: Registry, config: InternalAxiosRequestConfig): boolean {
  const handlers = registry.requestInterceptors.handlers;
  if (!Array.isArray(handlers)) return false;
  const lastRegisteredFirst =
    (config.transitional as { legacyInterceptorReqResOrdering?: boolean } | undefined)
      ?.legacyInterceptorReqResOrdering !== false;
  let ours = false;
  for (let index = handlers.length - 1; index >= 0; index--) {
    const handler = handlers[index];
    if (handler == null) continue;
    if (handler.fulfilled !== registry.synchronousStep && handler.fulfilled !== registry.asynchronousStep) {
      return false;
    }
    if (lastRegisteredFirst) return true;
    ours = true;
  }
  return ours;
}

/**
 * Finds out, on a throwaway instance made by this instance's own axios (`create`), whether an error thrown while
 * dispatching reaches the response interceptors on the synchronous path. The answer comes a microtask later;
 * until then, and if the instance cannot make another, every request takes the asynchronous path.
 */
function probeSynchronousDispatch(instance: AxiosInstance, registry: Registry): void {
  const create = (instance as { create?: unknown }).create;
  if (typeof create !== 'function') return;
  const marker = new Error('axios-resilience: probing how axios dispatches');
  try {
    const probe = (create as (config: object) => AxiosInstance).call(instance, {
      adapter: () => Promise.reject(marker),
      transformRequest: [
        () => {
          throw marker;
        },
      ],
    });
    probe.interceptors.request.use((config) => config, undefined, { synchronous: true });
    probe.interceptors.response.use(undefined, (error) => {
      if (error === marker) registry.synchronousDispatchSafe = true;
      return Promise.reject(error);
    });
    probe.request({ method: 'post', url: '/', data: '' }).catch(() => undefined);
  } catch {
    // An axios that cannot make the probe keeps the asynchronous path, which is always correct.
  }
}

/** A layer's place in an attempt's whole journey: request side first, then response side. */
function pipelinePosition(layer: Layer): number {
  return layer.requestStage ?? 10_000 + (layer.responseStage ?? 0);
}

/** The layers attached to an instance, in pipeline order (for diagnostics and tests). */
export function attachedLayers(instance: AxiosInstance): string[] {
  return [...(registries.get(instance)?.layers ?? [])]
    .sort((a, b) => pipelinePosition(a) - pipelinePosition(b))
    .map((layer) => layer.name);
}

/** Sorting happens here, once per attach or eject, never on the request path. */
function rebuildOrder(registry: Registry): void {
  registry.requestLayers = registry.layers.filter((layer) => layer.request).sort(byRequestStage);
  registry.responseLayers = registry.layers
    .filter((layer) => layer.onResponse || layer.onResponseError)
    .sort(byResponseStage);
}

function isThenable<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/**
 * Runs the request steps in order. Steps that answer synchronously cost no promise and no microtask; the
 * first one that waits (a rate-limit token) hands the rest to an async continuation.
 */
function runRequest(
  registry: Registry,
  config: InternalAxiosRequestConfig,
): InternalAxiosRequestConfig | Promise<InternalAxiosRequestConfig> {
  const now = registry.clock.now();
  const state = config.resilience;
  if (state === undefined) {
    // A first attempt with no per-request options: the state is made in one piece, not field by field.
    config.resilience = { attempt: 1, firstAttemptAt: now, lastAttemptAt: now };
  } else {
    state.attempt = (state.attempt ?? 0) + 1;
    state.firstAttemptAt ??= now;
  }
  const layers = registry.requestLayers;
  let current = config;
  for (let index = 0; index < layers.length; index++) {
    const result = layers[index].request!(current);
    // Most steps hand back the config they were given: that needs no thenable check.
    if (result === current) continue;
    if (isThenable(result)) return continueRequest(registry, result, index + 1);
    current = result;
  }
  // Nothing waited, so the attempt leaves at the time read above: one clock read per request.
  (current.resilience ??= {}).lastAttemptAt = now;
  return current;
}

async function continueRequest(
  registry: Registry,
  pending: Promise<InternalAxiosRequestConfig>,
  from: number,
): Promise<InternalAxiosRequestConfig> {
  let current = await pending;
  const layers = registry.requestLayers;
  for (let index = from; index < layers.length; index++) current = await layers[index].request!(current);
  stampSend(registry, current);
  return current;
}

function stampSend(registry: Registry, config: InternalAxiosRequestConfig): void {
  updateResilience(config, { lastAttemptAt: registry.clock.now() });
}

/** The success path, synchronous while every step is; the same semantics as a promise chain. */
function runFulfilled(registry: Registry, response: AxiosResponse): AxiosResponse | Promise<AxiosResponse> {
  const layers = registry.responseLayers;
  let current = response;
  for (let index = 0; index < layers.length; index++) {
    const step = layers[index].onResponse;
    if (!step) continue;
    let result: AxiosResponse | Promise<AxiosResponse>;
    try {
      result = step(current);
    } catch (error) {
      return chainFrom(layers, Promise.reject(error), index + 1);
    }
    if (result === current) continue;
    if (isThenable(result)) return chainFrom(layers, result, index + 1);
    current = result;
  }
  return current;
}

/** Promise-chain semantics from `from` on: a step's rejection goes to the next step's error handler. */
function chainFrom(layers: readonly Layer[], outcome: Promise<AxiosResponse>, from: number): Promise<AxiosResponse> {
  let chain = outcome;
  for (let index = from; index < layers.length; index++) {
    const layer = layers[index];
    chain = chain.then(layer.onResponse, layer.onResponseError as (error: unknown) => AxiosResponse);
  }
  return chain;
}
