import http from 'node:http';
import path from 'node:path';
import axios, {
  AxiosHeaders,
  type AxiosAdapter,
  type AxiosInstance,
  type AxiosRequestConfig,
  type AxiosResponse,
} from 'axios';
import axiosRetry from 'axios-retry';
import * as rax from 'retry-axios';
import rateLimit from 'axios-rate-limit';
import { attachResilience } from 'axios-resilience';
import { registerLayer } from '@axios-resilience/core';
import { attachRetry } from '@axios-resilience/retry';
import { attachIdempotency } from '@axios-resilience/idempotency';
import { attachRateLimit, memoryLimiter } from '@axios-resilience/ratelimit';
import { attachDeadLetter, fileSink } from '@axios-resilience/dlq';
import { chargeBody } from './payloads';
import { collectGarbage } from './gc';
import { median } from './stats';

/**
 * What the calibration configuration burns per request, in µs of CPU: about what 1a measures for the four
 * layers together, so 1b can show what that much client CPU alone costs in throughput on the machine at hand.
 */
export const CALIBRATION_MICROSECONDS = 4;

/**
 * Whether a run of 1a measured what it set out to: the calibration burns a known `CALIBRATION_MICROSECONDS`, so
 * its reading (µs beyond bare axios) must come out within half of that. Far off, the machine's disturbance (other
 * work, a throttled core) outweighed the few µs the bar is about, and that run cannot judge a bar this close.
 */
export function calibrationReadsTrue(extraMicroseconds: number): boolean {
  return Math.abs(extraMicroseconds - CALIBRATION_MICROSECONDS) <= CALIBRATION_MICROSECONDS / 2;
}

/**
 * The µs a configuration adds to bare axios in 1a, one value per round: its ratio to bare (the median over that
 * process's batch pairs) less one, times bare's µs in the same process; then the median over rounds. Not a
 * difference of the two per-process medians: each of those is moved by whatever else ran during its own
 * batches, while the ratio pairs every batch with the bare batch beside it, so the machine's moment cancels.
 */
export function extraMicroseconds(ratios: readonly number[], bareMicroseconds: readonly number[]): number {
  return median(ratios.map((ratio, round) => (ratio - 1) * bareMicroseconds[round]));
}

/** Spins for `microseconds`: the calibration's stand-in for a layer's work, CPU and nothing else (one small loop). */
function burnCpu(microseconds: number): void {
  const until = performance.now() + microseconds / 1000;
  while (performance.now() < until) {
    // Nothing: the time spent here is the point.
  }
}

/**
 * How many distinct functions the code calibration calls per request: enough that their CPU in a warm loop (1a)
 * is of the order of what the four layers add there, a few µs.
 */
export const CODE_CALIBRATION_FUNCTIONS = 200;

/**
 * `count` small functions, each compiled from source of its own (distinct constants), so each is a separate piece
 * of machine code: closures made from one function share their code, which is what this must avoid.
 */
function distinctFunctions(count: number): Array<(value: number) => number> {
  return Array.from(
    { length: count },
    (_, index) =>
      new Function(
        'value',
        `let mixed = (value ^ ${(index * 40_503) % 65_521}) | 0;` +
          `mixed = Math.imul(mixed, ${(index % 97) + 3});` +
          `if (mixed % ${(index % 13) + 2} === 0) mixed += ${index};` +
          `return mixed >>> ${index % 5};`,
      ) as (value: number) => number,
  );
}

/** A limit the cost benchmarks never reach: the limiter does all its bookkeeping but never makes anyone wait. */
export const UNREACHED_LIMIT = { limit: 1_000_000, intervalMs: 1_000 };

export interface ClientSetup {
  baseURL: string;
  /** A stub adapter, for measuring the plugins' own work. */
  adapter?: AxiosAdapter;
  /** A keep-alive agent, for measuring over loopback HTTP. */
  httpAgent?: http.Agent;
  /** Where a dead-letter file sink may write (it writes nothing when nothing fails). */
  directory: string;
}

export type ClientGroup =
  'baseline' | 'reference' | 'calibration' | 'calibration-code' | 'peer' | 'ours' | 'variant' | 'layer';

export interface ClientConfig {
  name: string;
  group: ClientGroup;
  create(setup: ClientSetup): AxiosInstance;
  /**
   * True when the configuration's state grows with the writes it sends (the idempotency reuse guard records
   * the caller's keys): the CPU benchmark then warms it up past the guard's bound.
   */
  recordsKeys?: boolean;
}

let sinkFiles = 0;

export type BenchMethod = 'POST' | 'GET';

/** Per-request options some configurations add (a caller's own idempotency key). */
const perRequestOptions = new WeakMap<AxiosInstance, (method: BenchMethod, index: number) => AxiosRequestConfig>();

/**
 * The request every cost benchmark sends: a charge (`POST /charges` with a JSON body, a fresh object each
 * time) or a read (`GET /charges/ch_1`), with the configuration's per-request options if it has any.
 */
export function sendRequest(instance: AxiosInstance, method: BenchMethod, index: number): Promise<unknown> {
  const options = perRequestOptions.get(instance)?.(method, index);
  return method === 'POST'
    ? instance.post('/charges', chargeBody(index), options)
    : instance.get('/charges/ch_1', options);
}

/**
 * CPU time (user + system, µs) of `count` sequential requests, after collecting the young garbage, so
 * whatever ran before does not have its garbage collected on this batch's clock.
 */
export async function cpuOfBatch(
  instance: AxiosInstance,
  method: BenchMethod,
  count: number,
  offset: number,
): Promise<number> {
  collectGarbage('young');
  const started = process.cpuUsage();
  for (let index = 0; index < count; index++) await sendRequest(instance, method, offset + index);
  const used = process.cpuUsage(started);
  return used.user + used.system;
}

function base(setup: ClientSetup): AxiosInstance {
  return axios.create({ baseURL: setup.baseURL, adapter: setup.adapter, httpAgent: setup.httpAgent });
}

function sinkPath(setup: ClientSetup): string {
  return path.join(setup.directory, `dead-letters-${++sinkFiles}.jsonl`);
}

/**
 * The configurations of the cost benchmarks: bare axios, three controls with none of our code (a plain key
 * header; CPU alone, in one small loop; a few µs of CPU spread over many distinct functions), the three peers
 * as their READMEs set them up, our whole pipeline (retry, idempotency, an in-memory rate limiter that is never
 * reached, a dead-letter queue with a file sink), the same with the token-bucket limiter instead of the default
 * sliding log, each of our layers alone, and core's layer dispatch with one layer that does nothing (the floor
 * every layer pays).
 */
export const COST_CONFIGS: ClientConfig[] = [
  { name: 'bare axios', group: 'baseline', create: base },
  {
    // What any client that sends idempotency keys pays on the wire, with none of our code: bare axios and one
    // request interceptor setting a fresh uuid on writes.
    name: 'bare axios + an Idempotency-Key header (a plain interceptor)',
    group: 'reference',
    create(setup) {
      const instance = base(setup);
      instance.interceptors.request.use(
        (config) => {
          if (config.method === 'post') config.headers.set('Idempotency-Key', crypto.randomUUID());
          return config;
        },
        undefined,
        { synchronous: true },
      );
      return instance;
    },
  },
  {
    // A control with none of our code: only CPU, in one synchronous interceptor (no promise, no header).
    name: `bare axios + an interceptor that only burns ${CALIBRATION_MICROSECONDS} µs of CPU (a calibration)`,
    group: 'calibration',
    create(setup) {
      const instance = base(setup);
      instance.interceptors.request.use(
        (config) => {
          burnCpu(CALIBRATION_MICROSECONDS);
          return config;
        },
        undefined,
        { synchronous: true },
      );
      return instance;
    },
  },
  {
    // The second control: no more CPU than the four layers take in a warm loop (1a), spread over many distinct
    // functions. Against the row above it tells what the amount of code a request runs through costs from what
    // its CPU costs. (Core's promise steps have a control of their own: its layer dispatch with an empty layer.)
    name: `bare axios + an interceptor that calls ${CODE_CALIBRATION_FUNCTIONS} distinct small functions (a calibration)`,
    group: 'calibration-code',
    create(setup) {
      const instance = base(setup);
      const functions = distinctFunctions(CODE_CALIBRATION_FUNCTIONS);
      instance.interceptors.request.use(
        (config) => {
          let value = 1;
          for (const step of functions) value = step(value);
          // Kept where the compiler cannot prove it unused: the calls must not be optimised away.
          if (value === -1) config.headers.set('X-Unreachable', 'true');
          return config;
        },
        undefined,
        { synchronous: true },
      );
      return instance;
    },
  },
  {
    name: 'axios + axios-retry',
    group: 'peer',
    create(setup) {
      const instance = base(setup);
      axiosRetry(instance, { retries: 3 });
      return instance;
    },
  },
  {
    name: 'axios + retry-axios',
    group: 'peer',
    create(setup) {
      const instance = base(setup);
      instance.defaults.raxConfig = { instance } as never;
      rax.attach(instance);
      return instance;
    },
  },
  {
    name: 'axios + axios-rate-limit',
    group: 'peer',
    create(setup) {
      return rateLimit(base(setup), {
        maxRequests: UNREACHED_LIMIT.limit,
        perMilliseconds: UNREACHED_LIMIT.intervalMs,
      });
    },
  },
  {
    name: 'all four layers',
    group: 'ours',
    create(setup) {
      const instance = base(setup);
      attachResilience(instance, {
        rateLimit: UNREACHED_LIMIT,
        deadLetter: { sink: fileSink({ path: sinkPath(setup) }) },
      });
      return instance;
    },
  },
  {
    name: 'all four layers, token-bucket limiter',
    group: 'variant',
    create(setup) {
      const instance = base(setup);
      attachResilience(instance, {
        rateLimit: { ...UNREACHED_LIMIT, algorithm: 'token-bucket' },
        deadLetter: { sink: fileSink({ path: sinkPath(setup) }) },
      });
      return instance;
    },
  },
  {
    name: 'retry alone',
    group: 'layer',
    create(setup) {
      const instance = base(setup);
      attachRetry(instance);
      return instance;
    },
  },
  {
    name: 'idempotency alone',
    group: 'layer',
    create(setup) {
      const instance = base(setup);
      attachIdempotency(instance);
      return instance;
    },
  },
  {
    name: "idempotency alone, the caller's own keys",
    group: 'layer',
    recordsKeys: true,
    create(setup) {
      const instance = base(setup);
      attachIdempotency(instance);
      // A key from outside (an order id, say) is checked by the reuse guard; a generated one is not.
      perRequestOptions.set(instance, (method, index) => ({ resilience: { idempotencyKey: `${method}-${index}` } }));
      return instance;
    },
  },
  {
    name: 'rate limit alone',
    group: 'layer',
    create(setup) {
      const instance = base(setup);
      attachRateLimit(instance, { limiter: memoryLimiter(UNREACHED_LIMIT) });
      return instance;
    },
  },
  {
    name: 'dead letter alone',
    group: 'layer',
    create(setup) {
      const instance = base(setup);
      attachDeadLetter(instance, { sink: fileSink({ path: sinkPath(setup) }) });
      return instance;
    },
  },
  {
    name: "core's layer dispatch alone (one empty layer)",
    group: 'layer',
    create(setup) {
      const instance = base(setup);
      registerLayer(instance, {
        name: 'empty',
        requestStage: 0,
        request: (config) => config,
        responseStage: 0,
        onResponse: (response) => response,
        onResponseError: (error) => {
          throw error;
        },
      });
      return instance;
    },
  },
];

/** The cost configuration of that name; throws on a name that is not one (a probe asked for the wrong one). */
export function costConfig(name: string): ClientConfig {
  const config = COST_CONFIGS.find((candidate) => candidate.name === name);
  if (!config) throw new Error(`no cost configuration named ${JSON.stringify(name)}`);
  return config;
}

const STUB_BODY = JSON.stringify({ id: 'ch_1', object: 'charge', status: 'succeeded', amount: 1000 });

/**
 * The stub adapter of the CPU benchmark: an immediate 200 with a JSON string body, the same for every
 * configuration, so only the interceptors' work differs.
 */
export const immediateAdapter: AxiosAdapter = (config) =>
  Promise.resolve({
    data: STUB_BODY,
    status: 200,
    statusText: 'OK',
    headers: new AxiosHeaders({ 'content-type': 'application/json' }),
    config,
    request: {},
  } as AxiosResponse);
