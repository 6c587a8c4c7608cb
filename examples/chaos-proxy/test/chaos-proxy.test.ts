import path from 'node:path';
import { chaosProblems, runChaosProxy } from '../src/chaos-run';
import { runTsx } from '@axios-resilience/testkit';

describe('chaos-proxy', () => {
  it('behind createChaosProxy the article client loses charges to resets; the resilient client completes every charge once', async () => {
    const report = await runChaosProxy({ charges: 20, seed: 3 });
    const [article, resilient] = report.clients;

    // The same seeded chaos met both clients: a reset, a 503, a 429, latency and a lost answer.
    for (const client of [article, resilient]) {
      const kinds = client.faults.map(({ fault }) => fault.split(' ')[0]);
      expect(new Set(kinds)).toEqual(new Set(['network', 'latency', 'status', 'drop-response']));
    }

    // fetchWithBackoff retries statuses but not network errors: a reset ends the call uncharged, and a
    // lost answer ends it with the customer charged while the caller believes it failed.
    expect(article.completed).toBe(18);
    expect(article.failures).toEqual([
      { customer: 'cus_02', error: 'fetch failed (ECONNRESET)', charged: false },
      { customer: 'cus_18', error: 'fetch failed (ECONNRESET)', charged: true },
    ]);
    expect(article.ledgerCharges).toBe(19);

    expect(resilient).toMatchObject({ charges: 20, completed: 20, failures: [], ledgerCharges: 20, duplicates: 0 });
    // The lost answer was retried with its key and answered from the API's idempotency store.
    expect(resilient.replayed).toBe(1);
    expect(resilient.retries).toBe(resilient.faults.filter(({ fault }) => !fault.startsWith('latency')).length);
    expect(chaosProblems(report)).toEqual([]);
  }, 60_000);

  it('the same through the CLI, axios-resilience-chaos-proxy --target ... --rate 0.2', async () => {
    const report = await runChaosProxy({ proxy: 'cli', clients: ['resilient'], charges: 20, seed: 3 });
    expect(report.command).toMatch(
      /^axios-resilience-chaos-proxy --target http:\/\/127\.0\.0\.1:\d+ --rate 0\.2 --faults 429,503,reset,latency=150,drop --seed 3$/,
    );
    const [resilient] = report.clients;
    expect(resilient.faults.map(({ fault }) => fault)).toEqual([
      'network ECONNRESET',
      'latency 150ms',
      'status 503',
      'status 429',
      'drop-response (reset)',
    ]);
    expect(resilient).toMatchObject({ completed: 20, ledgerCharges: 20, duplicates: 0, replayed: 1 });
    expect(chaosProblems(report)).toEqual([]);
  }, 60_000);

  it('the check fails when the resilient client met no fault or lost a charge', () => {
    const resilient = {
      client: 'resilient' as const,
      charges: 3,
      completed: 2,
      failures: [{ customer: 'cus_03', error: 'ECONNRESET', charged: true }],
      faults: [],
      requestsAtApi: 3,
      ledgerCharges: 3,
      duplicates: 0,
      replayed: 0,
    };
    expect(chaosProblems({ proxy: 'api', rate: 0.2, faults: '503', seed: 1, clients: [resilient] })).toEqual([
      'the proxy injected no fault into the resilient client',
      'the resilient client completed 2 of 3 charges',
    ]);
  });

  it('`pnpm start` prints the faults and both outcomes, and exits 0', async () => {
    const run = await runTsx(path.join(__dirname, '..', 'src', 'main.ts'), [], { timeoutMs: 90_000 });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/faults injected \(5\): #2 network ECONNRESET/);
    expect(run.stdout).toMatch(/cus_18: fetch failed \(ECONNRESET\); CHARGED anyway/);
    expect(run.stdout).toMatch(/completed 20 of 20 charges after 4 retries/);
    expect(run.stdout).toMatch(/the resilient client completed all 20 charges, each charged once\.$/m);
  }, 90_000);

  it('refuses a bad flag with exit code 2', async () => {
    const run = await runTsx(path.join(__dirname, '..', 'src', 'main.ts'), ['--charges', 'lots'], {
      timeoutMs: 60_000,
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--charges: expected a positive integer, got lots/);
  }, 60_000);
});
