import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fanoutProblems, runWebhookFanout } from '../src/fanout';
import { runTsx } from '@axios-resilience/testkit';

describe('webhook-fanout', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'webhook-fanout-test-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('dead-letters the three failing subscribers, replays them once fixed, and each subscriber processes the event once', async () => {
    const deadLetterPath = path.join(dir, 'dead-letters.jsonl');
    const report = await runWebhookFanout({ deadLetterPath, timeoutMs: 200, baseDelayMs: 50 });

    const bySubscriber = Object.fromEntries(report.deliveries.map((delivery) => [delivery.subscriber, delivery]));
    expect(bySubscriber.billing).toMatchObject({ outcome: 'delivered', status: 200, attempts: 1 });
    expect(bySubscriber.email).toMatchObject({ outcome: 'delivered', status: 200, attempts: 1 });
    expect(bySubscriber.warehouse).toMatchObject({ outcome: 'delivered', status: 200, attempts: 2 });
    expect(bySubscriber.crm).toMatchObject({
      outcome: 'dead-lettered',
      status: 500,
      attempts: 3,
      reason: 'retries-exhausted',
    });
    expect(bySubscriber.analytics).toMatchObject({
      outcome: 'dead-lettered',
      status: 410,
      attempts: 1,
      reason: 'not-retryable',
    });
    expect(bySubscriber.search).toMatchObject({
      outcome: 'dead-lettered',
      code: 'ECONNABORTED',
      attempts: 3,
      reason: 'retries-exhausted',
    });

    expect(report.deadLetters.map((letter) => [letter.subscriber, letter.idempotencyKey]).sort()).toEqual([
      ['analytics', 'evt_1001/analytics'],
      ['crm', 'evt_1001/crm'],
      ['search', 'evt_1001/search'],
    ]);
    for (const letter of report.deadLetters) {
      expect(letter.redacted).toContain('header:x-webhook-secret');
      expect(letter.containsSecret).toBe(false);
    }

    expect(report.replay).toMatchObject({ attempted: 3, succeeded: 3, failed: 0, skipped: 0 });
    expect(report.replay.results.map((result) => result.status)).toEqual([200, 200, 200]);
    expect(report.leftInQueue).toBe(0);
    // The file kept the records until the replay removed them, and never the secret.
    const file = fs.readFileSync(deadLetterPath, 'utf8');
    expect(file).toContain('evt_1001/search');
    expect(file).not.toContain('whsec_');

    // Duplicates reached the subscribers (retries of the stuck one, the replay of a delivery it had
    // committed) and were acknowledged by key, not processed again.
    expect(report.subscribers).toEqual([
      { name: 'billing', requests: 1, processed: 1 },
      { name: 'email', requests: 1, processed: 1 },
      { name: 'warehouse', requests: 2, processed: 1 },
      { name: 'crm', requests: 4, processed: 1 },
      { name: 'analytics', requests: 2, processed: 1 },
      { name: 'search', requests: 4, processed: 1 },
    ]);
    expect(fanoutProblems(report)).toEqual([]);

    const doubled = { ...report, subscribers: [{ name: 'crm', requests: 4, processed: 2 }], leftInQueue: 1 };
    expect(fanoutProblems(doubled)).toEqual([
      '1 record(s) left in the queue after the replay',
      'crm processed the event 2 time(s)',
    ]);
  });

  it('`pnpm start` prints the dead letters and the replay summary, and exits 0', async () => {
    const run = await runTsx(path.join(__dirname, '..', 'src', 'main.ts'), [], { timeoutMs: 60_000 });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Dead-letter queue \(a temporary JSONL file\): 3 records/);
    expect(run.stdout).toMatch(/attempted 3, succeeded 3, failed 0, skipped 0/);
    expect(run.stdout).toMatch(/left in the queue: 0/);
    expect(run.stdout).toMatch(/every subscriber processed evt_1001 exactly once\.$/m);
  }, 60_000);
});
