import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const main = path.join(repoRoot, 'examples', 'demo', 'src', 'main.ts');

function runDemo(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', main, ...args], {
    cwd: repoRoot,
    env: { ...process.env, TSX_TSCONFIG_PATH: path.join(repoRoot, 'tsconfig.json'), CI: 'true' },
    encoding: 'utf8',
    timeout: 120_000,
  });
}

function reportValue(output: string, label: string): number {
  const line = output.split('\n').find((candidate) => candidate.trim().startsWith(label));
  if (!line) throw new Error(`no "${label}" line in the demo's report:\n${output}`);
  return Number(line.trim().slice(label.length).trim().split(/\s/)[0]);
}

describe('pnpm demo', () => {
  it('runs a small Black Friday through the whole pipeline and its invariants hold', () => {
    const run = runDemo(['--ops', '200', '--concurrency', '25', '--seed', '7']);
    expect(run.stderr).not.toMatch(/INVARIANT BROKEN|demo failed/);
    expect(run.status).toBe(0);
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

  it('refuses a bad flag with a clear message and exit code 2', () => {
    const run = runDemo(['--ops', 'many']);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/--ops: expected a positive integer, got many/);
  }, 60_000);
});
