import { parseArgs } from 'node:util';
import { formatReport, runBlackFriday } from './black-friday';
import { progressBar } from './progress';

const usage = `pnpm demo [--ops N] [--concurrency N] [--seed N] [--fault-rate R]

  --ops          logical charges to make            (default 2000)
  --concurrency  charges in flight at once          (default 50)
  --seed         seed of the API's fault schedule   (default 42)
  --fault-rate   share of requests that meet a fault (default 0.18)`;

function numberFlag(name: string, value: string | undefined, fallback: number, check: (n: number) => boolean): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || !check(parsed)) {
    console.error(
      `--${name}: expected ${name === 'fault-rate' ? 'a number from 0 to 0.9' : 'a positive integer'}, got ${value}\n\n${usage}`,
    );
    process.exit(2);
  }
  return parsed;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((arg) => arg !== '--'),
    options: {
      ops: { type: 'string' },
      concurrency: { type: 'string' },
      seed: { type: 'string' },
      'fault-rate': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  const positiveInteger = (n: number) => Number.isInteger(n) && n > 0;
  const ops = numberFlag('ops', values.ops, 2000, positiveInteger);
  const concurrency = numberFlag('concurrency', values.concurrency, 50, positiveInteger);
  const seed = numberFlag('seed', values.seed, 42, Number.isInteger);
  const faultRate = numberFlag('fault-rate', values['fault-rate'], 0.18, (n) => n >= 0 && n <= 0.9);

  console.log(
    `Black Friday: ${ops} charges, ${concurrency} at a time, ${Math.round(faultRate * 100)} % faults (seed ${seed})`,
  );
  const bars = {
    charges: progressBar('charges', ops),
    replay: undefined as ReturnType<typeof progressBar> | undefined,
  };
  const report = await runBlackFriday({
    ops,
    concurrency,
    seed,
    faultRate,
    onProgress: (phase, done, total) => {
      if (phase === 'charges') bars.charges.update(done);
      else (bars.replay ??= progressBar('replay ', total)).update(done);
    },
  });
  console.log(`\n${formatReport(report)}\n\ndead letters kept in ${report.deadLetterPath}`);
  if (report.duplicates > 0 || report.lost > 0) {
    console.error(`\nINVARIANT BROKEN: ${report.duplicates} duplicate charge(s), ${report.lost} lost operation(s)`);
    process.exit(1);
  }
  console.log('\nEvery order charged exactly once or waiting, visibly, in the dead-letter queue.');
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
