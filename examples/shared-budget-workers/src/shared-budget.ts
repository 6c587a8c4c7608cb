import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import {
  startRedisServer,
  startTestServer,
  startUpstashBridge,
  type RecordedRequest,
  type RedisServer,
  type TestServer,
  type UpstashBridge,
} from '@axios-resilience/testkit';
import type { WorkerConfig, WorkerResult } from './worker';

/**
 * Several worker processes, each with its own axios instance, calling one API whose budget they share
 * through Redis: `Ratelimit.fixedWindow(limit, '1 s')` from `@upstash/ratelimit` behind `upstashLimiter`.
 * The API counts what it receives in every second; the sum over all workers stays within the one budget.
 */

export interface SharedBudgetOptions {
  /**
   * Worker processes.
   * @default 3
   */
  workers?: number;
  /**
   * The shared budget, requests per second for all workers together.
   * @default 30
   */
  limit?: number;
  /**
   * Requests each worker fires at once.
   * @default 30
   */
  requestsPerWorker?: number;
  log?: (line: string) => void;
}

export interface SecondCount {
  /** Seconds since the start (0 for the second the workers started in). */
  second: number;
  byWorker: Record<string, number>;
  total: number;
}

export interface SharedBudgetReport {
  limit: number;
  workerNames: string[];
  requestsPerWorker: number;
  /** Requests the API received in each epoch-aligned second, per worker and in all. */
  perSecond: SecondCount[];
  maxPerSecond: number;
  /** Work requests the API received. */
  received: number;
  results: WorkerResult[];
  /** HTTP requests the Upstash REST endpoint served (each carries the limit call and the shared-pause read). */
  redisRequests: number;
}

const WORKER_SCRIPT = path.join(__dirname, 'worker.ts');
const REPO_TSCONFIG = path.resolve(__dirname, '..', '..', '..', 'tsconfig.json');

interface RunningWorker {
  ready: Promise<void>;
  result: Promise<WorkerResult>;
  go(startAt: number): void;
  kill(): void;
}

/** Starts one worker in its own Node process, its TypeScript run by tsx. */
function startWorker(config: WorkerConfig): RunningWorker {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER_SCRIPT], {
    cwd: path.resolve(__dirname, '..'),
    env: { ...process.env, TSX_TSCONFIG_PATH: REPO_TSCONFIG, WORKER_CONFIG: JSON.stringify(config) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  let markReady!: () => void;
  let failReady!: (error: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  const result = new Promise<WorkerResult>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line === 'ready') markReady();
      else if (line.startsWith('result ')) resolve(JSON.parse(line.slice('result '.length)) as WorkerResult);
    });
    // 'close', not 'exit': 'exit' can fire before the last line on stdout (the result) has been read.
    child.once('close', (code) => {
      const error = new Error(
        `${config.name} exited with code ${code} before reporting${stderr ? `:\n${stderr}` : ''}`,
      );
      failReady(error);
      reject(error);
    });
  });
  // Either promise may be abandoned when another worker fails first.
  ready.catch(() => undefined);
  result.catch(() => undefined);
  return {
    ready,
    result,
    go: (startAt) => child.stdin.write(`go ${startAt}\n`),
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

function countPerSecond(requests: RecordedRequest[], names: string[], startAt: number): SecondCount[] {
  const counts = new Map<number, SecondCount>();
  for (const request of requests) {
    const second = Math.floor(request.receivedAt / 1000) - Math.floor(startAt / 1000);
    let entry = counts.get(second);
    if (!entry) {
      entry = { second, byWorker: Object.fromEntries(names.map((name) => [name, 0])), total: 0 };
      counts.set(second, entry);
    }
    const worker = String(request.headers['x-worker']);
    entry.byWorker[worker] = (entry.byWorker[worker] ?? 0) + 1;
    entry.total += 1;
  }
  return [...counts.values()].sort((a, b) => a.second - b.second);
}

export function formatSeconds(report: SharedBudgetReport): string[] {
  const header = ['second', ...report.workerNames, 'total'].map((cell) => cell.padStart(10)).join('');
  const rows = report.perSecond.map(({ second, byWorker, total }) => {
    const cells = [`+${second}`, ...report.workerNames.map((name) => String(byWorker[name] ?? 0)), String(total)];
    return `${cells.map((cell) => cell.padStart(10)).join('')}  ${'#'.repeat(total)}`;
  });
  return [header, ...rows];
}

export async function runSharedBudget(options: SharedBudgetOptions = {}): Promise<SharedBudgetReport> {
  const workerCount = options.workers ?? 3;
  const limit = options.limit ?? 30;
  const requestsPerWorker = options.requestsPerWorker ?? 30;
  const log = options.log ?? (() => undefined);
  const workerNames = Array.from({ length: workerCount }, (_, index) => `worker-${index + 1}`);

  let redis: RedisServer | undefined;
  let bridge: UpstashBridge | undefined;
  let api: TestServer | undefined;
  const workers: RunningWorker[] = [];
  try {
    redis = await startRedisServer();
    bridge = await startUpstashBridge({ redisUrl: redis.url });
    api = await startTestServer();
    log(`redis-server on ${redis.url}, its Upstash REST endpoint on ${bridge.url}, the API on ${api.url}`);
    log(
      `${workerCount} worker processes share Ratelimit.fixedWindow(${limit}, '1 s'); each fires ${requestsPerWorker} requests at once`,
    );
    const prefix = `orders-api-budget-${Date.now()}`;
    for (const name of workerNames) {
      workers.push(
        startWorker({
          name,
          apiUrl: api.url,
          redisRestUrl: bridge.url,
          redisRestToken: bridge.token,
          limit,
          workers: workerCount,
          prefix,
          requests: requestsPerWorker,
        }),
      );
    }
    await Promise.all(workers.map((worker) => worker.ready));
    bridge.resetStats();
    // Start together just after a second boundary, so the first window is a whole one.
    const startAt = Math.ceil((Date.now() + 100) / 1000) * 1000 + 5;
    for (const worker of workers) worker.go(startAt);
    const results = await Promise.all(workers.map((worker) => worker.result));

    const work = api.requests.filter((request) => request.url.startsWith('/orders/'));
    const perSecond = countPerSecond(work, workerNames, startAt);
    const report: SharedBudgetReport = {
      limit,
      workerNames,
      requestsPerWorker,
      perSecond,
      maxPerSecond: Math.max(0, ...perSecond.map((entry) => entry.total)),
      received: work.length,
      results,
      redisRequests: bridge.stats.requests,
    };
    log('');
    log('Requests the API received in each second:');
    for (const line of formatSeconds(report)) log(line);
    log('');
    log(
      `${report.received} requests in ${perSecond.length} seconds, at most ${report.maxPerSecond} in one ` +
        `(the budget: ${limit}, plus at most ${workerCount} granted just before a boundary and arriving just after it)`,
    );
    log(`${report.redisRequests} requests to the Upstash REST endpoint for ${report.received} API calls`);
    return report;
  } finally {
    for (const worker of workers) worker.kill();
    await api?.close();
    await bridge?.close();
    await redis?.stop();
  }
}

/** What must hold for the example to have made its point; empty when it did. */
export function sharedBudgetProblems(report: SharedBudgetReport): string[] {
  const problems: string[] = [];
  const expected = report.workerNames.length * report.requestsPerWorker;
  if (report.received !== expected) problems.push(`the API received ${report.received} requests, expected ${expected}`);
  for (const result of report.results) {
    if (result.errors.length > 0) problems.push(`${result.name} failed: ${result.errors[0]}`);
    if (result.storeErrors > 0) problems.push(`${result.name} could not reach Redis ${result.storeErrors} time(s)`);
    if (result.statuses.some((status) => status !== 200)) problems.push(`${result.name} got a status other than 200`);
  }
  const ceiling = report.limit + report.workerNames.length;
  for (const { second, total } of report.perSecond) {
    if (total > ceiling)
      problems.push(`second +${second}: ${total} requests, above ${report.limit} + ${report.workerNames.length}`);
  }
  return problems;
}
