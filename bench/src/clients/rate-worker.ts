/**
 * One client process of the shared-budget rate benchmark: its own axios instance paced by an Upstash
 * limiter whose budget lives in Redis (through the testkit's bridge), shared with its sibling processes:
 * either over a `@upstash/ratelimit` fixed window, or over the limiter's own booking fixed window.
 * Driven over IPC: `setup` builds the client and warms it up, `fire` sends a burst at an agreed moment.
 */
import axios, { type AxiosInstance } from 'axios';
import { Ratelimit } from '@upstash/ratelimit';
import { Redis } from '@upstash/redis';
import { attachRateLimit, upstashLimiter } from '@axios-resilience/ratelimit';
import { serveCommands } from '../child-process';
import { chargeBody } from '../payloads';

/** Where the shared budget lives: the user's `Ratelimit.fixedWindow`, or `upstashLimiter({ limit, intervalMs })`. */
export type SharedBudget = 'ratelimit' | 'own-window';

export interface RateWorkerSetup {
  name: string;
  budget: SharedBudget;
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
    client = axios.create({
      baseURL: setup.target,
      headers: { 'x-worker': setup.name },
      validateStatus: () => true,
    });
    // Each warm-up loads the limiter's script into Redis on a key of its own (the shared budget stays
    // untouched), as a process that has been running a while would have.
    if (setup.budget === 'ratelimit') {
      // As a user writes it: the default ephemeral cache, no analytics, no deny-list protection.
      const ratelimit = new Ratelimit({
        redis,
        limiter: Ratelimit.fixedWindow(setup.limit, `${setup.windowSeconds} s`),
        prefix: setup.prefix,
      });
      attachRateLimit(client, {
        limiter: upstashLimiter({ ratelimit, redis, storeFailure: 'closed', prefix: setup.prefix }),
        key: () => 'shared-api',
      });
      await ratelimit.limit(`warm-up:${process.pid}`);
    } else {
      const limiter = upstashLimiter({
        redis,
        limit: setup.limit,
        intervalMs: setup.windowSeconds * 1000,
        storeFailure: 'closed',
        prefix: setup.prefix,
      });
      attachRateLimit(client, { limiter, key: () => 'shared-api' });
      await limiter.acquire(`warm-up:${process.pid}`, { maxWaitMs: 5_000 });
    }
    // Opens a connection to the API, too.
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
