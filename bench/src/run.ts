/**
 * `pnpm bench [--quick] [--only name,...] [--out dir]`: runs the benchmarks, prints a table per benchmark,
 * writes `bench/results/<name>.json` and the generated `BENCHMARKS.md`. A quick run (for CI: keeps the
 * harness working, its numbers are not judged) writes to a temporary directory unless `--out` is given.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { BenchContext, BenchmarkResult } from './benchmark';
import { ensurePackagesBuilt } from './built-packages';
import { killAllChildren, REPO_ROOT } from './child-process';
import { consoleTable } from './format';
import { machineInfo } from './machine';
import { renderMarkdown, type RunSummary } from './report';
import { ServerHost } from './servers/server-host';
import { BENCHMARKS } from './benchmarks';

const usage = `pnpm bench [--quick] [--only NAME[,NAME...]] [--out DIR]

  --quick   small counts and single rounds (under a minute; for CI, numbers not judged)
  --only    run only these benchmarks: ${BENCHMARKS.map((benchmark) => benchmark.name).join(', ')}
  --out     where to write results/ and BENCHMARKS.md
            (default: the repository for a full run, a temporary directory for --quick or --only)`;

/** Past this the run is stuck: kill everything rather than hang CI. */
const WATCHDOG_MS = { quick: 3 * 60_000, full: 20 * 60_000 };

export interface RunOptions {
  quick: boolean;
  only?: string[];
  outDir?: string;
  log?: (line: string) => void;
}

export interface RunOutcome {
  summary: RunSummary;
  resultsDir: string;
  markdownPath: string;
}

/** Runs the chosen benchmarks and writes their results. Never leaves a child process behind. */
export async function runBenchmarks(options: RunOptions): Promise<RunOutcome> {
  const log = options.log ?? ((line: string) => console.log(line));
  const chosen = options.only
    ? BENCHMARKS.filter((benchmark) => options.only!.some((name) => benchmark.name.startsWith(name)))
    : BENCHMARKS;
  if (chosen.length === 0)
    throw new Error(`--only matched no benchmark; known: ${BENCHMARKS.map((b) => b.name).join(', ')}`);
  const defaultOut =
    options.quick || options.only ? fs.mkdtempSync(path.join(os.tmpdir(), 'axios-resilience-bench-')) : REPO_ROOT;
  const outDir = options.outDir ? path.resolve(options.outDir) : defaultOut;
  const resultsDir = outDir === REPO_ROOT ? path.join(REPO_ROOT, 'bench', 'results') : path.join(outDir, 'results');
  const markdownPath = path.join(outDir, 'BENCHMARKS.md');
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'axios-resilience-bench-scratch-'));
  const machine = machineInfo();
  const startedAt = Date.now();

  let host: Promise<ServerHost> | undefined;
  let current = '';
  const context: BenchContext = {
    quick: options.quick,
    tempDir,
    progress: (message) => log(`  [${current}] ${message}`),
    servers: () => (host ??= ServerHost.start()),
  };

  const results: BenchmarkResult[] = [];
  const failures: RunSummary['failures'] = [];
  log(
    `axios-resilience benchmarks${options.quick ? ' (quick)' : ''}: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, load ${machine.loadAverage}`,
  );
  try {
    for (const benchmark of chosen) {
      current = benchmark.name;
      const began = Date.now();
      log(`\n== ${benchmark.title}`);
      try {
        const result = await benchmark.run(context);
        results.push(result);
        printResult(result, log);
        writeJson(resultsDir, result, { machine, quick: options.quick, durationMs: Date.now() - began });
      } catch (error) {
        const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
        log(`  FAILED: ${message}`);
        failures.push({ name: benchmark.name, title: benchmark.title, error: message });
      }
      log(`  (${((Date.now() - began) / 1000).toFixed(1)} s)`);
    }
  } finally {
    if (host) await (await host.catch(() => undefined))?.stop();
    killAllChildren();
    fs.rmSync(tempDir, { recursive: true, force: true });
  }
  const summary: RunSummary = { machine, quick: options.quick, durationMs: Date.now() - startedAt, results, failures };
  if (!options.only || options.outDir) {
    fs.mkdirSync(path.dirname(markdownPath), { recursive: true });
    fs.writeFileSync(markdownPath, renderMarkdown(summary));
  }
  return { summary, resultsDir, markdownPath };
}

function printResult(result: BenchmarkResult, log: (line: string) => void): void {
  for (const table of result.tables) log(`\n${consoleTable(table)}`);
  log('');
  for (const verdict of result.verdicts)
    log(`  ${verdict.met ? 'MET    ' : 'NOT MET'}  ${verdict.bar}: ${verdict.measured}`);
  for (const note of result.notes) log(`  - ${note}`);
}

function writeJson(
  directory: string,
  result: BenchmarkResult,
  extra: { machine: ReturnType<typeof machineInfo>; quick: boolean; durationMs: number },
): void {
  fs.mkdirSync(directory, { recursive: true });
  const file = path.join(directory, `${result.name}.json`);
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify({ ...result, ...extra }, null, 2)}\n`);
  fs.renameSync(`${file}.tmp`, file);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((arg) => arg !== '--'),
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  const quick = values.quick ?? false;
  ensurePackagesBuilt((line) => console.log(line));
  const watchdog = setTimeout(
    () => {
      console.error(`bench: still running after ${WATCHDOG_MS[quick ? 'quick' : 'full'] / 60_000} minutes; giving up`);
      killAllChildren();
      process.exit(1);
    },
    WATCHDOG_MS[quick ? 'quick' : 'full'],
  );
  watchdog.unref();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killAllChildren();
      process.exit(130);
    });
  }
  const outcome = await runBenchmarks({
    quick,
    only: values.only
      ?.split(',')
      .map((name) => name.trim())
      .filter(Boolean),
    outDir: values.out,
  });
  const { summary } = outcome;
  const verdicts = summary.results.flatMap((result) => result.verdicts);
  console.log(
    `\nDone in ${(summary.durationMs / 1000).toFixed(1)} s: ${verdicts.filter((verdict) => verdict.met).length}/${verdicts.length} bars met` +
      `${summary.failures.length ? `, ${summary.failures.length} benchmark(s) FAILED` : ''}.`,
  );
  console.log(
    `Results: ${outcome.resultsDir}${fs.existsSync(outcome.markdownPath) ? `; report: ${outcome.markdownPath}` : ''}`,
  );
  clearTimeout(watchdog);
  // Bars are findings, not failures: only a benchmark that could not run fails the command.
  process.exitCode = summary.failures.length > 0 ? 1 : 0;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    killAllChildren();
    process.exit(1);
  });
}
