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
    created.requestId = instance.interceptors.request.use((config) => runRequest(created, config));
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
