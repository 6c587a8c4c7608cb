import fs from 'node:fs';
import path from 'node:path';
import { runTsx } from '@axios-resilience/testkit';

const main = path.join(__dirname, '..', 'src', 'main.ts');

function runDemo(args: string[]) {
  return runTsx(main, args, { env: { CI: 'true' }, timeoutMs: 120_000 });
}

function reportValue(output: string, label: string): number {
  const line = output.split('\n').find((candidate) => candidate.trim().startsWith(label));
  if (!line) throw new Error(`no "${label}" line in the demo's report:\n${output}`);
  return Number(line.trim().slice(label.length).trim().split(/\s/)[0]);
}

describe('pnpm demo', () => {
  it('runs a small Black Friday through the whole pipeline and its invariants hold', async () => {
    const run = await runDemo(['--ops', '200', '--concurrency', '25', '--seed', '7']);
    expect(run.stderr).not.toMatch(/INVARIANT BROKEN|demo failed/);
    expect(run.code).toBe(0);
    const output = run.stdout;
    expect(reportValue(output, 'operations')).toBe(200);
    expect(reportValue(output, 'charges in the ledger')).toBe(200);
    expect(reportValue(output, 'duplicates (must be 0)')).toBe(0);
    expect(reportValue(output, 'lost (must be 0)')).toBe(0);
    // The run met faults and recovered from them, so the invariants were tested, not idle.
    expect(reportValue(output, 'retries')).toBeGreaterThan(0);
    expect(reportValue(output, 'dead-lettered')).toBeGreaterThan(0);
    expect(reportValue(output, 'replayed')).toBe(reportValue(output, 'dead-lettered'));
    const file = /dead letters kept in (.+)$/m.exec(output)?.[1];
    expect(file && fs.existsSync(file)).toBe(true);
    if (file) fs.rmSync(path.dirname(file), { recursive: true, force: true });
    // Progress went to stderr, one line per tenth in CI.
    expect(run.stderr).toMatch(/charges 200\/200/);
  }, 150_000);

  it('refuses a bad flag with a clear message and exit code 2', async () => {
    const run = await runDemo(['--ops', 'many']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--ops: expected a positive integer, got many/);
  }, 60_000);
});
