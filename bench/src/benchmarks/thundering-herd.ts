import type { Benchmark, BenchContext, BenchmarkResult } from '../benchmark';
import { fixed, integer, type Table } from '../format';
import {
  articleDelay,
  axiosRetryExponentialDelay,
  simulateHerd,
  type HerdPolicy,
  type HerdResult,
  type HerdScenario,
} from '../herd';
import { mean, spread, type Spread } from '../stats';

const CLIENTS = 1_000;
const CAPACITY = 100;
const WINDOW_MS = 100;

interface HerdCase {
  label: string;
  group: 'peer' | 'default' | 'jitter' | 'budget' | 'hint';
  policy: HerdPolicy;
  serverHint: HerdScenario['serverHint'];
  /** What the issue measured for this formula. */
  issue?: string;
}

const noHint = 'none' as const;

const CASES: HerdCase[] = [
  {
    label: "the article's formula: 500 ms x 2^n + 0-500 ms, 5 retries",
    group: 'peer',
    policy: { name: 'article', peerDelay: articleDelay },
    serverHint: noHint,
    issue: '2,500 / 219 / 2.8 s',
  },
  {
    label: "axios-retry's exponentialDelay: 100 ms x 2^n + 0-20 % (up to 10 retries)",
    group: 'peer',
    policy: {
      name: 'axios-retry',
      peerDelay: (retryNumber, random) =>
        retryNumber > 10 ? undefined : axiosRetryExponentialDelay(retryNumber, random),
    },
    serverHint: noHint,
    issue: '4,167 / 1,000',
  },
  {
    label: 'ours, default: additive 0-1000 ms, per-client budget',
    group: 'default',
    policy: { name: 'default', retry: {} },
    serverHint: noHint,
  },
  {
    label: "ours, additive 0-500 ms (the article's range)",
    group: 'jitter',
    policy: { name: 'additive-500', retry: { jitter: 'additive', jitterMs: 500 } },
    serverHint: noHint,
  },
  {
    label: 'ours, full jitter',
    group: 'jitter',
    policy: { name: 'full', retry: { jitter: 'full' } },
    serverHint: noHint,
  },
  {
    label: 'ours, equal jitter',
    group: 'jitter',
    policy: { name: 'equal', retry: { jitter: 'equal' } },
    serverHint: noHint,
  },
  {
    label: 'ours, decorrelated jitter',
    group: 'jitter',
    policy: { name: 'decorrelated', retry: { jitter: 'decorrelated' } },
    serverHint: noHint,
    issue: '2,043 / 117 / 5.1 s',
  },
  {
    label: 'ours, no jitter',
    group: 'jitter',
    policy: { name: 'none', retry: { jitter: 'none' } },
    serverHint: noHint,
  },
  {
    label: 'ours, default without the retry budget',
    group: 'budget',
    policy: { name: 'no-budget', retry: { retryBudget: false } },
    serverHint: noHint,
  },
  {
    label: 'ours, default, one budget shared by all 1,000 (one instance)',
    group: 'budget',
    policy: { name: 'shared-budget', retry: {}, budget: 'shared' },
    serverHint: noHint,
  },
  {
    label: 'ours, default; server sends Retry-After: 1',
    group: 'hint',
    policy: { name: 'retry-after-1', retry: {} },
    serverHint: { retryAfterSeconds: 1 },
  },
  {
    label: 'ours, retryAfterJitterMs: 1000; server sends Retry-After: 1',
    group: 'hint',
    policy: { name: 'retry-after-1-jittered', retry: { retryAfterJitterMs: 1000 } },
    serverHint: { retryAfterSeconds: 1 },
  },
  {
    label: 'ours, default; server sends retry-after-ms to the next window with room',
    group: 'hint',
    policy: { name: 'retry-after-exact', retry: {} },
    serverHint: 'next-free-window',
  },
];

interface CaseSummary {
  label: string;
  group: HerdCase['group'];
  issue?: string;
  runs: HerdResult[];
  attempts: Spread;
  attemptsPerClient: Spread;
  peakPerWindow: Spread;
  peakOverCapacity: Spread;
  gaveUp: Spread;
  completedAtMs: Spread;
  /** Means over the seeds, as the issue reports them. */
  means: { attempts: number; attemptsPerClient: number; peakPerWindow: number; gaveUp: number; completedAtMs: number };
}

function summarise(herdCase: HerdCase, runs: HerdResult[]): CaseSummary {
  const of = (pick: (run: HerdResult) => number) => spread(runs.map(pick));
  const avg = (pick: (run: HerdResult) => number) => mean(runs.map(pick));
  return {
    label: herdCase.label,
    group: herdCase.group,
    issue: herdCase.issue,
    runs,
    attempts: of((run) => run.attempts),
    attemptsPerClient: of((run) => run.attemptsPerClient),
    peakPerWindow: of((run) => run.peakPerWindow),
    peakOverCapacity: of((run) => run.peakOverCapacity),
    gaveUp: of((run) => run.gaveUp),
    completedAtMs: of((run) => run.completedAtMs),
    means: {
      attempts: avg((run) => run.attempts),
      attemptsPerClient: avg((run) => run.attemptsPerClient),
      peakPerWindow: avg((run) => run.peakPerWindow),
      gaveUp: avg((run) => run.gaveUp),
      completedAtMs: avg((run) => run.completedAtMs),
    },
  };
}

/** "mean (min-max)" over the seeds. */
function meanText(value: Spread, average: number, render: (value: number) => string): string {
  if (value.min === value.max) return render(average);
  return `${render(average)} (${render(value.min)}-${render(value.max)})`;
}

export const herdBenchmark: Benchmark = {
  name: 'thundering-herd',
  title: `3. Thundering herd: ${integer(CLIENTS)} clients fail at once against ${CAPACITY} per ${WINDOW_MS} ms`,
  async run(context: BenchContext): Promise<BenchmarkResult> {
    const seeds = context.quick ? [1, 2] : [1, 2, 3, 4, 5];
    const summaries: CaseSummary[] = [];
    for (const herdCase of CASES) {
      context.progress(`${herdCase.label} (${seeds.length} seeds)`);
      const scenario: HerdScenario = {
        clients: CLIENTS,
        capacityPerWindow: CAPACITY,
        windowMs: WINDOW_MS,
        serverHint: herdCase.serverHint,
      };
      const runs = seeds.map((seed) => simulateHerd(scenario, herdCase.policy, seed));
      summaries.push(summarise(herdCase, runs));
      // Simulations are synchronous; let progress lines and timers through between them.
      await new Promise((resolve) => setImmediate(resolve));
    }
    const table: Table = {
      columns: [
        'policy',
        'attempts',
        'attempts / client',
        `peak / ${WINDOW_MS} ms`,
        'peak / capacity',
        'gave up',
        'all done at (s)',
        'issue measured (attempts / peak / done)',
      ],
      rows: summaries.map((row) => [
        row.label,
        meanText(row.attempts, row.means.attempts, integer),
        meanText(row.attemptsPerClient, row.means.attemptsPerClient, (v) => fixed(v, 2)),
        meanText(row.peakPerWindow, row.means.peakPerWindow, integer),
        `${fixed(row.means.peakPerWindow / CAPACITY, 2)}x`,
        meanText(row.gaveUp, row.means.gaveUp, integer),
        meanText(row.completedAtMs, row.means.completedAtMs, (v) => fixed(v / 1000, 1)),
        row.issue ?? '',
      ]),
    };
    const find = (name: string) => summaries[CASES.findIndex((herdCase) => herdCase.policy.name === name)];
    const ours = find('default');
    const peakRatio = ours.means.peakPerWindow / CAPACITY;
    const notes = guidance(find);
    return {
      name: this.name,
      title: this.title,
      method:
        `A simulation on a virtual clock (nothing sleeps; \`bench/src/herd.ts\`): ${integer(CLIENTS)} clients have all just ` +
        `failed at t = 0 against a server that serves ${CAPACITY} requests per ${WINDOW_MS} ms window and answers 429 to the ` +
        `rest. Each client retries per its policy; for ours the decision is the retry package's own code ` +
        `(\`resolveRetryOptions\`, \`decideRetry\`, \`RetryBudget\`) on a synthetic 429, with each client's retry budget its ` +
        `own unless said otherwise (each client is a process of its own). The peak counts retries only (the t = 0 ` +
        `failures excluded). Means over ${seeds.length} seeds (${seeds.join(', ')}) with (min-max); the peers' rows ` +
        `reproduce the issue's measurements.`,
      tables: [table],
      verdicts: [
        {
          bar: `3. default: peak <= 1.5x capacity`,
          measured: `${fixed(peakRatio, 2)}x`,
          met: peakRatio <= 1.5,
        },
        {
          bar: '3. default: <= 2.2 attempts per client',
          measured: fixed(ours.means.attemptsPerClient, 2),
          met: ours.means.attemptsPerClient <= 2.2,
        },
        {
          bar: '3. default: no client gives up',
          measured: integer(ours.means.gaveUp),
          met: ours.gaveUp.max === 0,
        },
      ],
      notes,
      data: {
        clients: CLIENTS,
        capacityPerWindow: CAPACITY,
        windowMs: WINDOW_MS,
        seeds,
        cases: summaries.map(({ runs, ...rest }) => ({ ...rest, runs })),
      },
    };
  },
};

/** Which jitter to choose when, from this run's numbers. */
function guidance(find: (name: string) => CaseSummary): string[] {
  const line = (summary: CaseSummary) =>
    `${fixed(summary.means.attemptsPerClient, 2)} attempts per client, peak ${fixed(summary.means.peakPerWindow / CAPACITY, 2)}x capacity, ` +
    `done at ${fixed(summary.means.completedAtMs / 1000, 1)} s${summary.means.gaveUp > 0 ? `, ${integer(summary.means.gaveUp)} gave up` : ''}`;
  const notes = [
    `**Choose additive (the default)** when many clients can fail together (an outage, a deploy, a rate-limit wall): ` +
      `the first retries spread over a full second above the 500 ms base, so the herd arrives at about the server's pace: ${line(find('default'))}. ` +
      `With the article's 0-500 ms range the same herd gives ${line(find('additive-500'))}.`,
    `**Decorrelated** matches additive on load (${line(find('decorrelated'))}) but its waits wander upwards, so the last ` +
      'clients finish later; choose it for long overloads where spreading retries further matters more than recovering fast.',
    `**Full** jitter (${line(find('full'))}) has the shortest waits on average but puts many first retries near zero, so a ` +
      'herd comes back at over twice the capacity; choose it when failures are independent (one client, sporadic blips) and ' +
      `latency matters. **Equal** jitter (${line(find('equal'))}) keeps a floor of half the backoff but bunches the herd the most of the jittered kinds.`,
    `**No jitter** keeps the herd in lockstep: ${line(find('none'))}. Use it only for a single client or in tests.`,
    `The retry budget never binds when each client is its own process (${line(find('no-budget'))} without it, the same as with it). ` +
      `When all 1,000 are requests of one instance, its shared budget sheds the storm instead: ${line(find('shared-budget'))}. ` +
      'That is the budget doing its job (an outage must not become a retry storm); the clients that give up are final ' +
      'failures, which the dead-letter queue keeps for replay.',
  ];
  const fixedHint = find('retry-after-1');
  const exactHint = find('retry-after-exact');
  notes.push(
    `Server hints: a precise per-client hint (\`retry-after-ms\` to the next window with room) gives ${line(exactHint)}.`,
  );
  const jitteredHint = find('retry-after-1-jittered');
  if (fixedHint.means.peakPerWindow > 1.5 * CAPACITY || fixedHint.means.gaveUp > 0) {
    notes.push(
      `**A constant \`Retry-After: 1\` herds the clients under the default** (${line(fixedHint)}): by default hints are ` +
        'followed exactly, as the design asks (the server named that moment), so every client that failed together comes ' +
        `back in the same window. With \`retryAfterJitterMs: 1000\` (0..1000 ms added to second-grained hints, never ` +
        `earlier than asked; \`retry-after-ms\` stays exact) the same herd gives ${line(jitteredHint)}. Set it when many ` +
        'clients share one server that answers overload with a constant `Retry-After`.',
    );
  }
  return notes;
}
