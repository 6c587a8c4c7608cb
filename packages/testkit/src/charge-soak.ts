import type { AxiosInstance } from 'axios';
import { getFailureSummary, getResilience } from '@axios-resilience/core';
import type { FlakyApi } from './flaky-api';

export interface ChargeSoakOptions {
  /** The client under test, with whatever layers it has. */
  instance: AxiosInstance;
  /** Logical charges to make. */
  operations: number;
  /** Charges in flight at once. */
  concurrency: number;
  /** Prefix of each order id (the id travels in the body, so the ledger can be audited per operation). */
  orderPrefix?: string;
  /** Called after each operation settles. */
  onProgress?: (done: number, total: number) => void;
  /** Called once the given number of operations has settled (to start an outage mid-run, say). */
  at?: { done: number; run: () => void };
}

export type SoakOutcome = 'succeeded' | 'dead-lettered' | 'failed';

export interface SoakOperation {
  orderId: string;
  outcome: SoakOutcome;
  /** Attempts the operation took (from its final config). */
  attempts: number;
  latencyMs: number;
  deadLetterId?: string;
  /** Why a failed operation failed (a message, never the error with its config). */
  reason?: string;
}

export interface ChargeSoakResult {
  operations: SoakOperation[];
  durationMs: number;
  succeeded: number;
  deadLettered: number;
  failed: number;
  attempts: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
}

/**
 * Sends `operations` logical charges (`POST /charges`, one order id each) through `instance`, `concurrency`
 * at a time, and sorts every operation into succeeded, dead-lettered (the failure carries a dead-letter id)
 * or failed. Used by the soak tests, the demo and the goodput benchmark.
 */
export async function runChargeSoak(options: ChargeSoakOptions): Promise<ChargeSoakResult> {
  const { instance, operations, concurrency } = options;
  const prefix = options.orderPrefix ?? 'order';
  const results: SoakOperation[] = new Array(operations);
  let next = 0;
  let done = 0;
  const startedAt = Date.now();

  async function one(index: number): Promise<void> {
    const orderId = `${prefix}-${index}`;
    const began = Date.now();
    try {
      const response = await instance.post('/charges', { orderId, amount: 1000 + (index % 97), currency: 'usd' });
      results[index] = {
        orderId,
        outcome: 'succeeded',
        attempts: getResilience(response.config).attempt ?? 1,
        latencyMs: Date.now() - began,
      };
    } catch (error) {
      const summary = getFailureSummary(error);
      const config = (error as { config?: Parameters<typeof getResilience>[0] }).config;
      results[index] = {
        orderId,
        outcome: summary?.deadLetterId ? 'dead-lettered' : 'failed',
        attempts: summary?.attempts ?? getResilience(config).attempt ?? 1,
        latencyMs: Date.now() - began,
        deadLetterId: summary?.deadLetterId,
        reason: summary?.reason ?? (error instanceof Error ? error.message : String(error)),
      };
    }
    done += 1;
    options.onProgress?.(done, operations);
    if (options.at && done === options.at.done) options.at.run();
  }

  async function worker(): Promise<void> {
    while (next < operations) await one(next++);
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, operations) }, worker));

  const latencies = results.map((result) => result.latencyMs).sort((a, b) => a - b);
  const count = (outcome: SoakOutcome) => results.filter((result) => result.outcome === outcome).length;
  return {
    operations: results,
    durationMs: Date.now() - startedAt,
    succeeded: count('succeeded'),
    deadLettered: count('dead-lettered'),
    failed: count('failed'),
    attempts: results.reduce((sum, result) => sum + result.attempts, 0),
    latencyP50Ms: percentile(latencies, 0.5),
    latencyP99Ms: percentile(latencies, 0.99),
  };
}

export interface LedgerAudit {
  /** Charges in the ledger for the audited orders. */
  charges: number;
  /** Extra charges: an order charged twice counts 1. */
  duplicates: number;
  /** Orders with no charge at all. */
  missing: string[];
}

/** Counts the ledger's charges per order id: exactly one each is the promise. */
export function auditLedger(api: FlakyApi, orderIds: readonly string[]): LedgerAudit {
  const perOrder = new Map<string, number>(orderIds.map((orderId) => [orderId, 0]));
  let charges = 0;
  for (const charge of api.ledger) {
    const orderId = String(charge.body.orderId);
    if (!perOrder.has(orderId)) continue;
    perOrder.set(orderId, (perOrder.get(orderId) ?? 0) + 1);
    charges += 1;
  }
  let duplicates = 0;
  const missing: string[] = [];
  for (const [orderId, count] of perOrder) {
    if (count === 0) missing.push(orderId);
    else duplicates += count - 1;
  }
  return { charges, duplicates, missing };
}
