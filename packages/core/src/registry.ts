import axios, {
  type AxiosAdapter,
  type AxiosInstance,
  type AxiosResponse,
  type InternalAxiosRequestConfig,
} from 'axios';
import { systemClock, type Clock } from './clock';
import { updateResilience } from './state';

/**
 * Where each layer sits in an attempt. Request side runs in ascending order before the adapter; response
 * side in ascending order after it. Gaps leave room for users' own layers.
 */
export const REQUEST_STAGE = { idempotency: 100, rateLimit: 200, chaos: 300 } as const;
/** Where each layer sits on the way back: the learner sees every answer first, the dead-letter queue last. */
export const RESPONSE_STAGE = { rateLimitLearner: 100, retry: 200, deadLetter: 300 } as const;

/**
 * A layer's request step: may change the config, wait (a rate-limit token), or reject. Steps run before
 * axios serialises the body, except those after a step that waited: they run once the wait is over, after
 * axios's `transformRequest`, so there `config.data` may already be the serialised body.
 */
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
  requestId: number;
  responseId: number;
  clock: Clock;
}

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
 * run in an order that depends on attach order. Instead core installs a single request and a single
 * response interceptor per instance and runs the registered layers by stage.
 */
export function registerLayer(instance: AxiosInstance, layer: Layer, clock: Clock = systemClock): Attachment {
  let registry = registries.get(instance);
  if (!registry) {
    const created: Registry = {
      layers: [],
      requestLayers: [],
      responseLayers: [],
      requestId: -1,
      responseId: -1,
      clock,
    };
    // Synchronous, so axios sends the request in the same tick instead of through a chain of promises: a
    // step that has to wait is finished in front of the adapter instead (see deferRest).
    created.requestId = instance.interceptors.request.use((config) => runRequest(created, config), undefined, {
      synchronous: true,
    });
    created.responseId = instance.interceptors.response.use(
      (response) => runFulfilled(created, response),
      (error) => chainFrom(created.responseLayers, Promise.reject(error), 0),
    );
    registries.set(instance, created);
    registry = created;
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
        instance.interceptors.request.eject(owner.requestId);
        instance.interceptors.response.eject(owner.responseId);
        registries.delete(instance);
      }
    },
  };
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
 * Runs the request steps in order, synchronously: axios's interceptor is registered as synchronous, which
 * spares every request a chain of promises. The first step that waits (a rate-limit token) hands itself
 * and the steps after it to an adapter that finishes them before the real adapter sends (deferRest).
 */
function runRequest(registry: Registry, config: InternalAxiosRequestConfig): InternalAxiosRequestConfig {
  const now = registry.clock.now();
  const state = config.resilience;
  if (state === undefined) {
    // A first attempt with no per-request options: the state is made in one piece, not field by field.
    config.resilience = { attempt: 1, firstAttemptAt: now, lastAttemptAt: now };
  } else {
    state.attempt = (state.attempt ?? 0) + 1;
    state.firstAttemptAt ??= now;
  }
  if (isDeferredAdapter(config.adapter)) config.adapter = config.adapter[DEFERRED_ADAPTER].original;
  const layers = registry.requestLayers;
  let current = config;
  for (let index = 0; index < layers.length; index++) {
    let result: InternalAxiosRequestConfig | Promise<InternalAxiosRequestConfig>;
    try {
      result = layers[index].request!(current);
    } catch (error) {
      // Never thrown from here: axios before 1.19 mishandles a synchronous interceptor that throws (a
      // TypeError instead of the error, and no response steps). Failed in front of the adapter, the error
      // takes the path of any failure, through the response steps (retry, dead letter), and nothing is sent.
      return deferRest(registry, current, Promise.reject(error), index + 1);
    }
    if (isThenable(result)) return deferRest(registry, current, result, index + 1);
    current = result;
  }
  // Nothing waited, so the attempt leaves at the time read above: one clock read per request.
  (current.resilience ??= {}).lastAttemptAt = now;
  return current;
}

/** Marks an adapter put in place by deferRest, and keeps the one it stands in front of. */
const DEFERRED_ADAPTER = Symbol.for('axios-resilience.core.deferred-request');

interface DeferredAdapter extends AxiosAdapter {
  [DEFERRED_ADAPTER]: { original: InternalAxiosRequestConfig['adapter'] };
}

function isDeferredAdapter(value: unknown): value is DeferredAdapter {
  return typeof value === 'function' && DEFERRED_ADAPTER in value;
}

function sendWith(config: InternalAxiosRequestConfig): Promise<AxiosResponse> {
  return axios.getAdapter(config.adapter ?? axios.defaults.adapter, config)(config);
}

/**
 * A step returned a promise, which a synchronous interceptor cannot hand to axios. The config goes on with
 * an adapter in front of its own that waits for that step, runs the steps after it and only then sends, so
 * nothing leaves before every step is done, exactly as with an asynchronous interceptor. The adapter acts
 * once and puts the real one back first, so the config of a failed attempt (which a retry re-sends) never
 * carries it; runRequest removes one left behind by an attempt that never reached its adapter (cancelled).
 */
function deferRest(
  registry: Registry,
  config: InternalAxiosRequestConfig,
  step: PromiseLike<InternalAxiosRequestConfig>,
  from: number,
): InternalAxiosRequestConfig {
  const original = config.adapter;
  const body = config.data;
  const pending = Promise.resolve(step);
  // Settled here too: when axios never calls the adapter (the request was cancelled before it left), the
  // step's outcome is nobody's to report, and an unhandled rejection would crash the host app.
  pending.catch(() => undefined);
  let used = false;
  const deferred = ((dispatched: InternalAxiosRequestConfig) => {
    if (used) {
      // A copy of the config taken before its attempt left, sent again without core: it simply goes out.
      dispatched.adapter = original;
      return sendWith(dispatched);
    }
    used = true;
    config.adapter = original;
    dispatched.adapter = original;
    return finishRequest(registry, dispatched, pending, from, body);
  }) as DeferredAdapter;
  deferred[DEFERRED_ADAPTER] = { original };
  config.adapter = deferred;
  return config;
}

/**
 * The deferred part of an attempt: once the waiting step is done, the remaining steps run on the config
 * axios dispatched, and it is sent. `body` is the body before axios serialised it.
 */
async function finishRequest(
  registry: Registry,
  dispatched: InternalAxiosRequestConfig,
  pending: Promise<InternalAxiosRequestConfig>,
  from: number,
  body: unknown,
): Promise<AxiosResponse> {
  let current = carryChanges(await pending, dispatched, body);
  const layers = registry.requestLayers;
  for (let index = from; index < layers.length; index++) current = await layers[index].request!(current);
  stampSend(registry, current);
  return sendWith(current);
}

/**
 * axios dispatches the config the interceptors returned, or (some versions) a flat copy of it. What the
 * waiting step changed on the config it returned is carried over to the one dispatched, except the body
 * it still holds as given, which axios has serialised by now.
 */
function carryChanges(
  ready: InternalAxiosRequestConfig,
  dispatched: InternalAxiosRequestConfig,
  body: unknown,
): InternalAxiosRequestConfig {
  if (ready === dispatched) return dispatched;
  const source = ready as unknown as Record<PropertyKey, unknown>;
  const target = dispatched as unknown as Record<PropertyKey, unknown>;
  for (const key of Reflect.ownKeys(ready)) {
    if (key === 'data' && source.data === body) continue;
    if (target[key] !== source[key]) target[key] = source[key];
  }
  return dispatched;
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
