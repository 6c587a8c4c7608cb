import { fanoutProblems, runWebhookFanout } from './fanout';

async function main(): Promise<void> {
  const report = await runWebhookFanout({ log: (line) => console.log(line) });
  const problems = fanoutProblems(report);
  if (problems.length > 0) {
    console.error(`\nPOINT NOT MADE:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    process.exit(1);
  }
  console.log(
    `\n${report.deadLetters.length} failed deliveries waited in the dead-letter queue, were replayed once fixed, ` +
      `and every subscriber processed ${report.event.id} exactly once.`,
  );
}

main().catch((error: unknown) => {
  console.error(`webhook-fanout failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
