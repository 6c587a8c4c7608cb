import type { BenchMethod } from '../clients';

/** What the CPU probe (`cost-probe.ts`, a process of its own) is asked. */
export interface CostProbeRequest {
  /** The configuration measured against bare axios: a name from `COST_CONFIGS`. */
  configuration: string;
  /** POSTs the configuration's instance sends before it is measured (and half as many GETs after them). */
  warmUp: number;
  /** The same for bare axios, whose state does not grow with what it sends. */
  bareWarmUp: number;
  /** Requests per method and instance that are measured. */
  count: number;
  /** Requests per timed batch; the two instances take turns batch by batch. */
  batch: number;
  /** Where a dead-letter file sink may write (it writes nothing when nothing fails). */
  directory: string;
}

/**
 * CPU per request (µs, user + system) of bare axios and of the configuration, batch by batch in the order they
 * ran: the two lists pair up index by index.
 */
export interface CostProbeResult {
  bare: Record<BenchMethod, number[]>;
  configuration: Record<BenchMethod, number[]>;
}

/** What the throughput probe (`throughput-probe.ts`, a process of its own) is asked. */
export interface ThroughputProbeRequest {
  /** The configuration measured against bare axios: a name from `COST_CONFIGS`. */
  configuration: string;
  /** The plain keep-alive server's base URL. */
  serverUrl: string;
  /** Requests in flight at once, and keep-alive connections per instance. */
  concurrency: number;
  /** POSTs per timed batch; the two instances take turns batch by batch. */
  batch: number;
  /** Timed batches per instance. */
  batches: number;
  /** Untimed POSTs per instance first. */
  warmUp: number;
  /** Also count the functions the configuration's POSTs run that bare axios's never do (after the timed batches). */
  countFunctions: boolean;
  /**
   * POSTs per instance whose function calls are counted: a function counts when every one of them called it.
   * @default 200
   */
  countedPosts?: number;
  /** Where a dead-letter file sink may write (it writes nothing when nothing fails). */
  directory: string;
}

/** One timed batch: its wall time and the client process's CPU time, both in µs. */
export interface TimedBatch {
  elapsedMicroseconds: number;
  cpuMicroseconds: number;
}

/** The batches of bare axios and of the configuration in the order they ran: they pair up index by index. */
export interface ThroughputProbeResult {
  bare: TimedBatch[];
  configuration: TimedBatch[];
  /** The functions a POST runs, when asked to count them. */
  functions?: FunctionCounts;
}

/** Distinct functions a POST runs (each called at least once per request). */
export interface FunctionCounts {
  /** Those bare axios's POSTs run. */
  bare: number;
  /** Those the configuration's POSTs run that bare axios's never do. */
  beyondBare: number;
}
