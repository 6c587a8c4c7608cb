import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import axios, { type AxiosError, type AxiosInstance } from 'axios';
import type { FailureSummary } from '@axios-resilience/core';
import { attachIdempotency } from '@axios-resilience/idempotency';
import { attachRateLimit, memoryLimiter, type RateLimiter } from '@axios-resilience/ratelimit';
import { attachRetry } from '@axios-resilience/retry';
import { startFlakyApi, type FlakyApi, type FlakyScriptStep } from '@axios-resilience/testkit';
import {
  attachDeadLetter,
  fileSink,
  memorySink,
  replay,
  type DeadLetterSink,
  type FileSink,
} from '@axios-resilience/dlq';

type Failed = AxiosError & { resilience?: FailureSummary };

let api: FlakyApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

/** The application's instance: keys on writes, quick retries, dead letters into `sink`. */
function appInstance(baseURL: string, sink: DeadLetterSink, extra?: (instance: AxiosInstance) => void): AxiosInstance {
  const instance = axios.create({ baseURL, timeout: 5_000 });
  attachIdempotency(instance);
  attachRetry(instance, { baseDelayMs: 5, jitter: 'none', retryBudget: false });
  attachDeadLetter(instance, { sink });
  extra?.(instance);
  return instance;
}

function keyCounts(flaky: FlakyApi): number[] {
  return [...flaky.chargesByKey().values()].map((charges) => charges.length);
}

describe('replay is safe', () => {
  it('a charge committed before its answer was lost replays under its key without a second charge', async () => {
    api = await startFlakyApi({ script: ['commit-then-drop', 503, 503, 503, 503, 503] });
    const sink = memorySink();
    const instance = appInstance(api.url, sink);

    const error = (await instance
      .post('/charges', { amount: 4200, currency: 'usd' })
      .catch((caught) => caught)) as Failed;
    expect(error.resilience).toMatchObject({ attempts: 6, reason: 'retries-exhausted' });
    expect(api.ledger).toHaveLength(1);
    const [record] = await sink.list();
    expect(record.idempotencyKey).toBe(api.ledger[0].idempotencyKey);
    const charged = api.requests[0];

    // A later process: a fresh instance, the same sink.
    const summary = await replay({ instance: appInstance(api.url, sink), sink });
    expect(summary).toMatchObject({ attempted: 1, succeeded: 1, failed: 0, skipped: 0 });
    const replayed = api.requests[api.requests.length - 1];
    expect(replayed.outcome).toBe('replayed');
    expect(replayed.idempotencyKey).toBe(record.idempotencyKey);
    expect(replayed.body).toBe(charged.body);
    expect(api.ledger).toHaveLength(1);
    expect(await sink.size()).toBe(0);
  });

  it('through the instance that made the record, too (the key reuse guard sees the same request)', async () => {
    api = await startFlakyApi({ script: ['commit-then-drop', 503, 503, 503, 503, 503] });
    const sink = memorySink();
    const instance = appInstance(api.url, sink);
    await instance.post('/charges', { amount: 1 }).catch(() => undefined);
    const summary = await replay({ instance, sink });
    expect(summary.results).toEqual([expect.objectContaining({ outcome: 'succeeded', status: 200 })]);
    expect(api.ledger).toHaveLength(1);
    expect(await sink.size()).toBe(0);
  });

  it('a record that fails again on replay stays, once, with its replay count', async () => {
    const fail: FlakyScriptStep[] = [503, 503, 503, 503, 503, 503];
    api = await startFlakyApi({ script: fail });
    const sink = memorySink();
    await appInstance(api.url, sink)
      .post('/charges', { amount: 990 })
      .catch(() => undefined);
    const [record] = await sink.list();

    for (const round of [1, 2]) {
      api.schedule(...fail);
      const summary = await replay({ instance: appInstance(api.url, sink), sink });
      expect(summary).toMatchObject({ attempted: 1, succeeded: 0, failed: 1 });
      expect(summary.results[0]).toMatchObject({ id: record.id, outcome: 'failed', status: 503 });
      const stored = await sink.list();
      expect(stored).toHaveLength(1);
      expect(stored[0]).toMatchObject({ id: record.id, replays: round, lastReplay: { status: 503 } });
    }
    expect(api.ledger).toHaveLength(0);

    const summary = await replay({ instance: appInstance(api.url, sink), sink });
    expect(summary.succeeded).toBe(1);
    expect(keyCounts(api)).toEqual([1]);
    expect(await sink.size()).toBe(0);
  });
});

describe('replaying a large queue', () => {
  let directory: string;
  let sink: FileSink;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'dlq-replay-'));
  });
  afterAll(async () => {
    await sink?.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('1,000 records, 10 at a time, through a rate-limited instance: all succeed, no duplicate charge, sink empty', async () => {
    const total = 1_000;
    // Every tenth charge is made but its answer is lost; the others fail before anything is charged.
    const script: FlakyScriptStep[] = Array.from({ length: total }, (_, index) =>
      index % 10 === 0 ? 'commit-then-drop' : 503,
    );
    api = await startFlakyApi({ script, recordRequests: false });
    sink = fileSink({ path: join(directory, 'dead-letters.jsonl') });

    const outage = axios.create({ baseURL: api.url, timeout: 5_000 });
    attachIdempotency(outage);
    attachDeadLetter(outage, { sink });
    for (let start = 0; start < total; start += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, offset) =>
          outage
            .post('/charges', { amount: 100 + start + offset, order: `order-${start + offset}` })
            .catch(() => undefined),
        ),
      );
    }
    expect(await sink.size()).toBe(total);
    expect(api.ledger).toHaveLength(total / 10);

    const limiter = memoryLimiter({ limit: 100, intervalMs: 100 });
    let acquired = 0;
    const counting: RateLimiter = {
      acquire: (key, options) => {
        acquired += 1;
        return limiter.acquire(key, options);
      },
      pause: (key, untilMs) => limiter.pause(key, untilMs),
    };
    const instance = appInstance(api.url, sink, (created) => attachRateLimit(created, { limiter: counting }));

    let peak = 0;
    let inFlight = 0;
    instance.interceptors.request.use((config) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      return config;
    });
    const settle = () => {
      inFlight -= 1;
    };
    instance.interceptors.response.use(
      (response) => {
        settle();
        return response;
      },
      (error: unknown) => {
        settle();
        throw error;
      },
    );

    const summary = await replay({ instance, sink, concurrency: 10 });
    expect(summary).toMatchObject({ attempted: total, succeeded: total, failed: 0, skipped: 0 });
    expect(peak).toBeLessThanOrEqual(10);
    expect(acquired).toBeGreaterThanOrEqual(total);
    expect(api.ledger).toHaveLength(total);
    expect(keyCounts(api).every((count) => count === 1)).toBe(true);
    expect(api.stats.replays).toBe(total / 10);
    expect(await sink.size()).toBe(0);
  }, 120_000);
});
