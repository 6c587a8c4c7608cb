import path from 'node:path';
import { runSharedBudget, sharedBudgetProblems, type SharedBudgetReport } from '../src/shared-budget';
import { runTsx } from '@axios-resilience/testkit';

describe('shared-budget-workers', () => {
  it('three worker processes on one Upstash fixedWindow(20, "1 s") budget: the API never sees more than 20 (+3) in a second', async () => {
    const report = await runSharedBudget({ workers: 3, limit: 20, requestsPerWorker: 20 });

    expect(report.received).toBe(60);
    for (const result of report.results) {
      expect(result.errors).toEqual([]);
      expect(result.storeErrors).toBe(0);
      expect(result.statuses).toEqual(new Array(20).fill(200));
    }
    for (const second of report.perSecond) expect(second.total).toBeLessThanOrEqual(20 + 3);
    // 60 requests fired at once by three processes could arrive in one second; the shared budget spreads them.
    expect(report.perSecond.length).toBeGreaterThanOrEqual(3);
    // Every worker got its share of the budget: none was starved.
    for (const name of report.workerNames) {
      expect(report.perSecond.reduce((sum, second) => sum + second.byWorker[name], 0)).toBe(20);
    }
    // About one round trip to Redis per call: the limit call and the shared-pause read ride together.
    expect(report.redisRequests).toBeGreaterThanOrEqual(60);
    expect(report.redisRequests).toBeLessThan(60 * 2);
    expect(sharedBudgetProblems(report)).toEqual([]);
  }, 60_000);

  it('the check flags a second over the budget and a worker that failed', () => {
    const report: SharedBudgetReport = {
      limit: 20,
      workerNames: ['worker-1', 'worker-2'],
      requestsPerWorker: 2,
      perSecond: [{ second: 0, byWorker: { 'worker-1': 2, 'worker-2': 23 }, total: 25 }],
      maxPerSecond: 25,
      received: 25,
      results: [
        { name: 'worker-1', statuses: [200, 200], errors: [], storeErrors: 0 },
        { name: 'worker-2', statuses: [200], errors: ['ERR_RATE_LIMITED no token'], storeErrors: 0 },
      ],
      redisRequests: 4,
    };
    expect(sharedBudgetProblems(report)).toEqual([
      'the API received 25 requests, expected 4',
      'worker-2 failed: ERR_RATE_LIMITED no token',
      'second +0: 25 requests, above 20 + 2',
    ]);
  });

  it('`pnpm start` prints the per-second counts and exits 0', async () => {
    const run = await runTsx(path.join(__dirname, '..', 'src', 'main.ts'), [], { timeoutMs: 90_000 });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const rows = run.stdout.split('\n').filter((line) => /^\s+\+\d+\s/.test(line));
    expect(rows.length).toBeGreaterThanOrEqual(3);
    for (const row of rows) {
      const cells = row.trim().split(/\s+/);
      // second, three workers, total, bar
      expect(Number(cells[4])).toBeLessThanOrEqual(33);
      expect(cells[5]).toBe('#'.repeat(Number(cells[4])));
    }
    expect(run.stdout).toMatch(/^90 requests in \d+ seconds, at most \d+ in one/m);
  }, 90_000);
});
