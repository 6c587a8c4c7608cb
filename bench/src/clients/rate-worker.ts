/**
 * One client process of the shared-budget rate benchmark: its own axios instance paced by an Upstash
 * limiter whose budget lives in Redis (through the testkit's bridge), shared with its sibling processes.
 * Driven over IPC: `setup` builds the client and warms it up, `fire` sends a burst at an agreed moment.
 */
import axios, { type AxiosInstance } from 'axios';
import { Ratelimit } from '@upstash/ratelimit';
import { Redis } from '@upstash/redis';
import { attachRateLimit, upstashLimiter } from '@axios-resilience/ratelimit';
import { serveCommands } from '../child-process';
import { chargeBody } from '../payloads';

export interface RateWorkerSetup {
  name: string;
  target: string;
  redisUrl: string;
  redisToken: string;
  limit: number;
  /** Seconds, as `@upstash/ratelimit` writes durations. */
  windowSeconds: number;
  /** A fresh prefix per round, so rounds never share a window's count. */
  prefix: string;
}

export interface BurstOutcome {
  statuses: number[];
  errors: string[];
  firstSentAt: number;
  lastSettledAt: number;
}

let client: AxiosInstance | undefined;

serveCommands({
  async setup(setup: RateWorkerSetup) {
    const redis = new Redis({
      url: setup.redisUrl,
      token: setup.redisToken,
      retry: { retries: 0 },
      enableTelemetry: false,
    });
    // As a user writes it: the default ephemeral cache, no analytics, no deny-list protection.
    const ratelimit = new Ratelimit({
      redis,
      limiter: Ratelimit.fixedWindow(setup.limit, `${setup.windowSeconds} s`),
      prefix: setup.prefix,
    });
    client = axios.create({
      baseURL: setup.target,
      headers: { 'x-worker': setup.name },
      validateStatus: () => true,
    });
    attachRateLimit(client, {
      limiter: upstashLimiter({ ratelimit, redis, storeFailure: 'closed', prefix: setup.prefix }),
      key: () => 'shared-api',
    });
    // Loads the script into Redis on a key of its own (the shared budget stays untouched) and opens a
    // connection to the API, as a process that has been running a while would have.
    await ratelimit.limit(`warm-up:${process.pid}`);
    await axios.get(`${setup.target}/health`);
    return null;
  },
  async fire({ startAt, count, offset }: { startAt: number; count: number; offset: number }): Promise<BurstOutcome> {
    const instance = client!;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())));
    const outcome: BurstOutcome = { statuses: [], errors: [], firstSentAt: Date.now(), lastSettledAt: 0 };
    await Promise.all(
      Array.from({ length: count }, (_, index) =>
        instance.post('/charges', chargeBody(offset + index)).then(
          (response) => void outcome.statuses.push(response.status),
          (error: Error & { code?: string }) => void outcome.errors.push(`${error.code ?? ''} ${error.message}`),
        ),
      ),
    );
    outcome.lastSettledAt = Date.now();
    return outcome;
  },
});
