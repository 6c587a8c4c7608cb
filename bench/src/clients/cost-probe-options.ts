import type { BenchMethod } from '../clients';

/** What the CPU probe (`cost-probe.ts`, a process of its own) is asked. */
export interface CostProbeRequest {
  /** The configuration measured against bare axios: a name from `COST_CONFIGS`. */
  configuration: string;
  /** POSTs each instance sends before it is measured (and half as many GETs after them). */
  warmUp: number;
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
