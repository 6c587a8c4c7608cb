/**
 * One worker process: its own axios instance with a rate limiter whose budget lives in Redis, shared with
 * every other worker through `@upstash/ratelimit`. Started by `shared-budget.ts`, run with tsx.
 *
 * Protocol: configuration in the WORKER_CONFIG environment variable (JSON); the worker prints `ready` once
 * warmed up, waits for `go <epoch ms>` on stdin, fires its requests from that moment and prints
 * `result <json>`.
 */
import { createInterface } from 'node:readline';
import axios from 'axios';
import { Ratelimit } from '@upstash/ratelimit';
import { Redis } from '@upstash/redis';
import { attachRateLimit, memoryLimiter, upstashLimiter } from '@axios-resilience/ratelimit';

export interface WorkerConfig {
  name: string;
  /** The API every worker calls. */
  apiUrl: string;
  /** The Upstash REST endpoint and its token. */
  redisRestUrl: string;
  redisRestToken: string;
  /** The shared budget: requests per second, for all workers together. */
  limit: number;
  /** Workers sharing it: while Redis is unreachable, each keeps to its share. */
  workers: number;
  prefix: string;
  /** Requests this worker fires at once. */
  requests: number;
}

export interface WorkerResult {
  name: string;
  statuses: number[];
  errors: string[];
  storeErrors: number;
}

function waitForGo(): Promise<number> {
  return new Promise((resolve) => {
    const lines = createInterface({ input: process.stdin });
    lines.on('line', (line) => {
      const match = /^go (\d+)$/.exec(line.trim());
      if (match) {
        lines.close();
        resolve(Number(match[1]));
      }
    });
  });
}

async function main(): Promise<void> {
  const config = JSON.parse(process.env.WORKER_CONFIG ?? '{}') as WorkerConfig;
  const result: WorkerResult = { name: config.name, statuses: [], errors: [], storeErrors: 0 };

  const redis = new Redis({
    url: config.redisRestUrl,
    token: config.redisRestToken,
    retry: { retries: 0 },
    enableTelemetry: false,
  });
  const ratelimit = new Ratelimit({
    redis,
    limiter: Ratelimit.fixedWindow(config.limit, '1 s'),
    prefix: config.prefix,
  });
  const api = axios.create({ baseURL: config.apiUrl, headers: { 'x-worker': config.name }, timeout: 10_000 });
  attachRateLimit(api, {
    limiter: upstashLimiter({
      ratelimit,
      redis,
      fallback: memoryLimiter({ limit: Math.max(1, Math.floor(config.limit / config.workers)), intervalMs: 1000 }),
      onStoreError: () => void (result.storeErrors += 1),
    }),
    // One bucket for the whole API, whichever host or path a request names.
    key: () => 'orders-api',
    maxWaitMs: 30_000,
  });

  // Load the limiter's script into Redis (on a key of its own, leaving the shared budget untouched) and
  // open a connection to the API, so the measured run does not include a cold start.
  await ratelimit.limit(`warm-up:${process.pid}`);
  await axios.get(`${config.apiUrl}/warm-up`);
  process.stdout.write('ready\n');

  const startAt = await waitForGo();
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())));
  await Promise.all(
    Array.from({ length: config.requests }, (_, index) =>
      api.post(`/orders/${config.name}-${index}/sync`).then(
        (response) => void result.statuses.push(response.status),
        (error: Error) => void result.errors.push(`${(error as { code?: string }).code ?? ''} ${error.message}`),
      ),
    ),
  );
  process.stdout.write(`result ${JSON.stringify(result)}\n`, () => process.exit(0));
}

main().catch((error: unknown) => {
  process.stderr.write(`worker failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
