import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import axios from 'axios';
import { attachResilience, fileSink, replay } from 'axios-resilience';
import { auditLedger, runChargeSoak, startFlakyApi } from '@axios-resilience/testkit';

export interface DemoOptions {
  /** Logical charges to make. */
  ops: number;
  concurrency: number;
  seed: number;
  /** Share of requests that meet a fault, split 10:2:2:1 into 503, 429, commit-then-drop and reset. */
  faultRate: number;
  /** Where the dead letters go; a fresh temporary file by default. */
  deadLetterPath?: string;
  /** Progress callback for the sending and replay phases. */
  onProgress?: (phase: 'charges' | 'replay', done: number, total: number) => void;
}

export interface DemoReport {
  operations: number;
  attempts: number;
  retries: number;
  met429: number;
  met503: number;
  resets: number;
  commitThenDrop: number;
  totalWaitMs: number;
  deadLettered: number;
  replayed: number;
  stillDeadLettered: number;
  charges: number;
  duplicates: number;
  lost: number;
  durationMs: number;
  deadLetterPath: string;
}

/**
 * The Black-Friday run: the flaky payments API (429s with Retry-After, 503s, resets, commit-then-drop, a rate
 * limit and one outage) against the whole pipeline on its embedded defaults, then a replay of the dead
 * letters. The invariants: no order charged twice, none lost.
 */
export async function runBlackFriday(options: DemoOptions): Promise<DemoReport> {
  const startedAt = Date.now();
  const share = options.faultRate / 15;
  const api = await startFlakyApi({
    seed: options.seed,
    faults: {
      status503: 10 * share,
      status429: 2 * share,
      commitThenDrop: 2 * share,
      reset: 1 * share,
    },
    faultRetryAfterMs: 1000,
    rateLimit: { limit: 400, windowMs: 1000 },
    recordRequests: false,
  });
  const deadLetterPath =
    options.deadLetterPath ??
    path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'axios-resilience-demo-')), 'dead-letters.jsonl');
  const sink = fileSink({ path: deadLetterPath });
  let totalWaitMs = 0;
  try {
    const instance = axios.create({ baseURL: api.url, timeout: 5000 });
    attachResilience(instance, {
      retry: { onRetry: ({ delayMs }) => void (totalWaitMs += delayMs) },
      rateLimit: { limit: 360, intervalMs: 1000 },
      deadLetter: { sink },
    });

    // Mid-run the API goes down for a moment: 200 requests in a row meet a 503. The retry budget stops the
    // clients from hammering it, and what cannot wait lands in the dead-letter queue.
    const outageAt = Math.floor(options.ops * 0.4);
    const soak = await runChargeSoak({
      instance,
      operations: options.ops,
      concurrency: options.concurrency,
      onProgress: (done, total) => options.onProgress?.('charges', done, total),
      at: { done: outageAt, run: () => api.schedule(...new Array<number>(200).fill(503)) },
    });

    const summary = await replay({
      instance,
      sink,
      concurrency: 10,
      onProgress: ({ done, total }) => options.onProgress?.('replay', done, total),
    });
    const stillDeadLettered = await sink.size();
    const orderIds = soak.operations.map((operation) => operation.orderId);
    const audit = auditLedger(api, orderIds);
    // An order that is neither charged nor waiting, visibly, in the dead-letter queue is lost.
    const lost = Math.max(0, audit.missing.length - stillDeadLettered) + soak.failed;
    return {
      operations: options.ops,
      attempts: api.stats.requests,
      retries: api.stats.requests - options.ops - summary.attempted,
      met429: api.stats.byStatus[429] ?? 0,
      met503: api.stats.byStatus[503] ?? 0,
      resets: api.stats.faults.reset,
      commitThenDrop: api.stats.faults['commit-then-drop'],
      totalWaitMs,
      deadLettered: soak.deadLettered,
      replayed: summary.succeeded,
      stillDeadLettered,
      charges: audit.charges,
      duplicates: audit.duplicates,
      lost,
      durationMs: Date.now() - startedAt,
      deadLetterPath,
    };
  } finally {
    await api.close();
  }
}

export function formatReport(report: DemoReport): string {
  const rows: Array<[string, string | number]> = [
    ['operations', report.operations],
    ['attempts sent', report.attempts],
    ['retries', report.retries],
    ['429s met', report.met429],
    ['503s met', report.met503],
    ['connection resets', report.resets],
    ['charged, then dropped', report.commitThenDrop],
    ['time spent waiting', `${(report.totalWaitMs / 1000).toFixed(1)} s (summed over operations)`],
    ['dead-lettered', report.deadLettered],
    ['replayed', report.replayed],
    ['still in the dead-letter queue', report.stillDeadLettered],
    ['charges in the ledger', report.charges],
    ['duplicates (must be 0)', report.duplicates],
    ['lost (must be 0)', report.lost],
    ['took', `${(report.durationMs / 1000).toFixed(1)} s`],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`).join('\n');
}
