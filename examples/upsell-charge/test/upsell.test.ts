import path from 'node:path';
import { runUpsell, upsellProblems } from '../src/upsell';
import { runTsx } from '@axios-resilience/testkit';

describe('upsell-charge', () => {
  it('the keyless retry charges twice; attachResilience charges once and is answered from the idempotency store', async () => {
    const lines: string[] = [];
    const report = await runUpsell({
      timeoutMs: 300,
      answerDelayMs: 900,
      baseDelayMs: 50,
      log: (line) => lines.push(line),
    });

    expect(report.naive).toMatchObject({ attempts: 2, succeeded: true, replayed: false });
    expect(report.naive.chargeIds).toHaveLength(2);
    expect(report.naive.keysSent).toEqual([undefined, undefined]);

    expect(report.resilient).toMatchObject({ attempts: 2, succeeded: true, replayed: true });
    expect(report.resilient.chargeIds).toHaveLength(1);
    const [firstKey, secondKey] = report.resilient.keysSent;
    expect(firstKey).toMatch(/^[0-9a-f-]{36}$/);
    expect(secondKey).toBe(firstKey);

    expect(upsellProblems(report)).toEqual([]);
    // The retries were narrated, each with the key it carried (or the lack of one).
    expect(lines.filter((line) => /attempt 1 failed: ECONNABORTED/.test(line))).toHaveLength(2);
    expect(lines.join('\n')).toContain(`with the same Idempotency-Key ${firstKey}`);
  });

  it('reports the point as not made when the API answers in time and nothing is retried', async () => {
    const report = await runUpsell({ timeoutMs: 500, answerDelayMs: 0, baseDelayMs: 50 });
    expect(report.naive.chargeIds).toHaveLength(1);
    expect(report.resilient.replayed).toBe(false);
    const problems = upsellProblems(report);
    expect(problems).toContain('the naive client was expected to charge twice, it charged 1 time(s)');
    expect(problems).toContain('the resilient client was not answered from the idempotency store');
  });

  it('`pnpm start` prints the story and exits 0', async () => {
    const run = await runTsx(path.join(__dirname, '..', 'src', 'main.ts'), [], { timeoutMs: 60_000 });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/cus_ada was charged 2 times \(ch_1, ch_2\)/);
    expect(run.stdout).toMatch(/cus_ada was charged once \(ch_1\); the client got the saved result/);
    expect(run.stdout).toMatch(/with one the customer was charged exactly once\.$/m);
  }, 60_000);
});
