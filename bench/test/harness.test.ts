import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import axios from 'axios';
import { renderMarkdown } from '../src/report';
import { runBenchmarks } from '../src/run';
import { busiestWindow, leastSquaresSlope, meanWindowOccupancy, median, percentile, spread } from '../src/stats';
import { articleDelay, axiosRetryExponentialDelay, simulateHerd, type HerdPolicy } from '../src/herd';
import { ServerHost } from '../src/servers/server-host';
import type { BenchmarkResult } from '../src/benchmark';
import { startChild } from '../src/child-process';
import {
  CALIBRATION_MICROSECONDS,
  calibrationReadsTrue,
  CODE_CALIBRATION_FUNCTIONS,
  costConfig,
  extraMicroseconds,
} from '../src/clients';
import type { ThroughputProbeRequest, ThroughputProbeResult } from '../src/clients/cost-probe-options';

describe('statistics', () => {
  it('median, spread and percentile', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(spread([5, 1, 3])).toEqual({ median: 3, min: 1, max: 5, values: [5, 1, 3] });
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.5)).toBe(5);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.99)).toBe(10);
  });

  it('mean window occupancy scores bursts and even pacing at the limit, and counts a gap as a loss', () => {
    const bursts = Array.from({ length: 500 }, (_, index) => Math.floor(index / 50) * 1000);
    const even = Array.from({ length: 500 }, (_, index) => index * 20);
    const late = Array.from({ length: 500 }, (_, index) => Math.floor(index / 50) * 1050);
    expect(meanWindowOccupancy(bursts, 1000)).toBeCloseTo(50, 5);
    expect(meanWindowOccupancy(even, 1000)).toBeCloseTo(50, 5);
    // 50 every 1,050 ms is 47.6 per second; the edges of the run cost a little more.
    expect(meanWindowOccupancy(late, 1000)).toBeGreaterThan(47);
    expect(meanWindowOccupancy(late, 1000)).toBeLessThan((50 * 1000) / 1050 + 1e-9);
  });

  it('the least-squares slope reads a steady leak through noise that a single difference takes for growth', () => {
    const requests = Array.from({ length: 11 }, (_, index) => 50_000 + index * 10_000);
    // A settled heap that moves by up to 300 KiB between samples, ending high.
    const noise = [0, 250, -50, 200, 0, -10, 280, -40, 150, 10, 300].map((kib) => kib * 1024);
    const settled = requests.map((at, index) => [at, 15e6 + noise[index]] as const);
    const lastPhase = (settled[10][1] - settled[5][1]) / 50_000;
    expect(lastPhase).toBeGreaterThan(5);
    expect(Math.abs(leastSquaresSlope(settled))).toBeLessThan(5);
    // The same noise on top of a leak of 50 bytes per request.
    const leaking = settled.map(([at, heap]) => [at, heap + (at - 50_000) * 50] as const);
    expect(leastSquaresSlope(leaking)).toBeGreaterThan(45);
    expect(
      leastSquaresSlope([
        [0, 1],
        [2, 5],
      ]),
    ).toBe(2);
    expect(() => leastSquaresSlope([[1, 1]])).toThrow();
  });

  it('busiest window counts arrivals in any half-open span', () => {
    expect(busiestWindow([0, 10, 999, 1000, 1001], 1000)).toBe(4);
    expect(busiestWindow([0, 1000, 2000], 1000)).toBe(1);
    expect(busiestWindow([], 1000)).toBe(0);
  });
});

describe("1a's calibration check", () => {
  it('trusts a run whose calibration reads near its known cost, and no run where it reads far off', () => {
    expect(calibrationReadsTrue(CALIBRATION_MICROSECONDS)).toBe(true);
    // What axios spends calling one more interceptor comes on top: quiet runs read +4.8 and +2.7 µs.
    expect(calibrationReadsTrue(CALIBRATION_MICROSECONDS + 0.8)).toBe(true);
    expect(calibrationReadsTrue(CALIBRATION_MICROSECONDS - 1.3)).toBe(true);
    // A reading of nothing at all means the 4 µs drowned in the machine's noise.
    expect(calibrationReadsTrue(0)).toBe(false);
    expect(calibrationReadsTrue(CALIBRATION_MICROSECONDS * 2.5)).toBe(false);
  });

  it("reads a configuration's extra µs off its paired ratios, not off a difference of medians", () => {
    // Three processes: bare took 30, 60 and 45 µs, and the configuration read 1.1x, 1.2x and 1.1x of it.
    expect(extraMicroseconds([1.1, 1.2, 1.1], [30, 60, 45])).toBeCloseTo(4.5);
    // Bare's µs differ a lot between processes; each ratio is scaled by bare's µs from its own process.
    expect(extraMicroseconds([1.1, 1.5, 1.02], [60, 10, 100])).toBeCloseTo(5);
  });
});

describe('the herd simulation reproduces the issue', () => {
  const scenario = { clients: 1000, capacityPerWindow: 100, windowMs: 100, serverHint: 'none' as const };
  const average = (policy: HerdPolicy) => {
    const runs = [1, 2, 3, 4, 5].map((seed) => simulateHerd(scenario, policy, seed));
    const mean = (pick: (run: (typeof runs)[number]) => number) => runs.reduce((sum, run) => sum + pick(run), 0) / 5;
    return {
      attempts: mean((run) => run.attempts),
      peak: mean((run) => run.peakPerWindow),
      doneMs: mean((run) => run.completedAtMs),
      gaveUp: mean((run) => run.gaveUp),
    };
  };

  it("the article's formula: 2,500 attempts, peak about 219, done about 2.8 s", () => {
    const result = average({ name: 'article', peerDelay: articleDelay });
    expect(result.attempts).toBeCloseTo(2500, -1);
    expect(result.peak).toBeGreaterThan(205);
    expect(result.peak).toBeLessThan(235);
    expect(result.doneMs).toBeGreaterThan(2500);
    expect(result.doneMs).toBeLessThan(3100);
  });

  it("decorrelated jitter: about 2,043 attempts, peak about 117; axios-retry's exponentialDelay: about 4,167, peak 1,000", () => {
    const decorrelated = average({ name: 'decorrelated', retry: { jitter: 'decorrelated' } });
    expect(decorrelated.attempts).toBeCloseTo(2043, -1);
    expect(decorrelated.peak).toBeLessThan(125);
    const exponential = average({
      name: 'axios-retry',
      peerDelay: (n, random) => (n > 10 ? undefined : axiosRetryExponentialDelay(n, random)),
    });
    expect(exponential.attempts).toBeGreaterThan(4100);
    expect(exponential.attempts).toBeLessThan(4250);
    expect(exponential.peak).toBe(1000);
  });

  it('our default meets the bar: at most 2.2 attempts per client, peak at most 1.5x capacity, nobody gives up', () => {
    const result = average({ name: 'default', retry: {} });
    expect(result.attempts / 1000).toBeLessThanOrEqual(2.2);
    expect(result.peak / 100).toBeLessThanOrEqual(1.5);
    expect(result.gaveUp).toBe(0);
  });
});

describe('the server process', () => {
  it('runs the flaky API in a child process, reports what it saw, and goes away on stop', async () => {
    const host = await ServerHost.start();
    try {
      const server = await host.flakyApi({ rateLimit: { limit: 2, windowMs: 60_000 } });
      const client = axios.create({ baseURL: server.url, validateStatus: () => true });
      const statuses = [];
      for (let index = 0; index < 3; index++)
        statuses.push((await client.post('/charges', { orderId: `o-${index}` })).status);
      expect(statuses).toEqual([200, 200, 429]);
      const report = await host.report(server);
      expect(report.arrivals.map(([, status]) => status)).toEqual([200, 200, 429]);
      expect(report.stats.rateLimited).toBe(1);
      const { audit, chargedOnce } = await host.audit(server, ['o-0', 'o-1', 'o-2']);
      expect(audit).toEqual({ charges: 2, duplicates: 0, missing: ['o-2'] });
      expect(chargedOnce).toBe(2);
      await host.close(server);
    } finally {
      await host.stop();
    }
  }, 30_000);
});

describe('the throughput probe', () => {
  it("counts the functions a POST runs beyond bare axios's: the code calibration's own, each once per request", async () => {
    const host = await ServerHost.start();
    const probe = startChild(path.join(__dirname, '..', 'src', 'clients', 'throughput-probe.ts'), {
      name: 'throughput probe (test)',
      nodeFlags: ['--expose-gc'],
    });
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-probe-test-'));
    try {
      const server = await host.plainServer();
      await probe.ready;
      const configuration = costConfig(
        `bare axios + an interceptor that calls ${CODE_CALIBRATION_FUNCTIONS} distinct small functions (a calibration)`,
      );
      const result = await probe.call<ThroughputProbeResult>(
        'measure',
        {
          configuration: configuration.name,
          serverUrl: server.url,
          concurrency: 4,
          batch: 20,
          batches: 2,
          warmUp: 20,
          directory,
          countFunctions: true,
        } satisfies ThroughputProbeRequest,
        60_000,
      );
      expect(result.bare).toHaveLength(2);
      expect(result.configuration).toHaveLength(2);
      // Bare axios's POST over HTTP runs hundreds of functions of axios and Node.
      expect(result.functions!.bare).toBeGreaterThan(100);
      // The calibration's functions, plus the few around them (its interceptor, axios calling it): not bare's.
      expect(result.functions!.beyondBare).toBeGreaterThanOrEqual(CODE_CALIBRATION_FUNCTIONS);
      expect(result.functions!.beyondBare).toBeLessThan(CODE_CALIBRATION_FUNCTIONS + 20);
      await host.close(server);
    } finally {
      await probe.stop();
      await host.stop();
      fs.rmSync(directory, { recursive: true, force: true });
    }
  }, 60_000);
});

function expectWellFormed(result: BenchmarkResult): void {
  expect(typeof result.title).toBe('string');
  expect(result.method.length).toBeGreaterThan(50);
  expect(result.tables.length).toBeGreaterThan(0);
  for (const table of result.tables) {
    expect(table.rows.length).toBeGreaterThan(0);
    for (const row of table.rows) {
      expect(row).toHaveLength(table.columns.length);
      for (const cell of row) expect(cell).not.toMatch(/NaN|undefined/);
    }
  }
  for (const verdict of result.verdicts) {
    expect(typeof verdict.met).toBe('boolean');
    expect(verdict.measured).not.toMatch(/NaN|undefined/);
  }
}

describe('a quick run', () => {
  let outDir: string;
  beforeAll(() => {
    outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-harness-test-'));
  });
  afterAll(() => {
    fs.rmSync(outDir, { recursive: true, force: true });
  });

  it('of the in-process benchmarks writes well-formed JSON and a BENCHMARKS.md with a table per benchmark', async () => {
    const lines: string[] = [];
    const outcome = await runBenchmarks({
      quick: true,
      only: ['cost-cpu', 'thundering-herd', 'bundle-size'],
      outDir,
      log: (line) => lines.push(line),
    });
    expect(outcome.summary.failures).toEqual([]);
    expect(outcome.summary.results.map((result) => result.name)).toEqual([
      'cost-cpu',
      'thundering-herd',
      'bundle-size',
    ]);
    for (const result of outcome.summary.results) {
      expectWellFormed(result);
      const written = JSON.parse(fs.readFileSync(path.join(outDir, 'results', `${result.name}.json`), 'utf8'));
      expect(written.name).toBe(result.name);
      expect(written.quick).toBe(true);
      expect(written.machine.node).toBe(process.version);
    }
    const markdown = fs.readFileSync(outcome.markdownPath, 'utf8');
    expect(markdown).toContain('## Bars');
    for (const result of outcome.summary.results) expect(markdown).toContain(`## ${result.title}`);
    expect(markdown).toContain('1a. all four layers < 1.2x bare CPU per request (POST)');
    expect(lines.some((line) => line.includes('Thundering herd'))).toBe(true);
  }, 120_000);

  it('a benchmark that throws is reported as failed, not hidden', () => {
    const markdown = renderMarkdown({
      machine: {
        cpu: 'x',
        cores: 1,
        memoryGiB: 1,
        platform: 'p',
        node: 'v20',
        loadAverage: 0,
        date: '2026-01-01T00:00:00Z',
      },
      quick: false,
      durationMs: 1000,
      results: [],
      failures: [{ name: 'memory', title: '5. Memory', error: 'Error: boom' }],
    });
    expect(markdown).toContain('| 5. Memory | the benchmark failed to run | **no** |');
    expect(markdown).toContain('Error: boom');
  });
});
