import { parseArgs } from 'node:util';
import { chaosProblems, runChaosProxy } from './chaos-run';

const usage = `pnpm --filter @axios-resilience/example-chaos-proxy start [-- --cli] [--seed N] [--charges N]

  --cli       run the proxy as its CLI (axios-resilience-chaos-proxy) in a child process
  --seed      seed of the fault sequence (default 3)
  --charges   charges per client (default 20)`;

function integerFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || (name === 'charges' && parsed < 1)) {
    console.error(
      `--${name}: expected ${name === 'charges' ? 'a positive integer' : 'an integer'}, got ${value}\n\n${usage}`,
    );
    process.exit(2);
  }
  return parsed;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((arg) => arg !== '--'),
    options: {
      cli: { type: 'boolean' },
      seed: { type: 'string' },
      charges: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  const report = await runChaosProxy({
    proxy: values.cli ? 'cli' : 'api',
    seed: integerFlag('seed', values.seed),
    charges: integerFlag('charges', values.charges),
    log: (line) => console.log(line),
  });
  const problems = chaosProblems(report);
  if (problems.length > 0) {
    console.error(`\nPOINT NOT MADE:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    process.exit(1);
  }
  const resilient = report.clients.find((client) => client.client === 'resilient')!;
  console.log(
    `\nUnder ${resilient.faults.length} injected faults the resilient client completed all ${resilient.charges} charges, each charged once.`,
  );
}

main().catch((error: unknown) => {
  console.error(`chaos-proxy failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
