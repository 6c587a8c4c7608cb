import { runUpsell, upsellProblems } from './upsell';

async function main(): Promise<void> {
  const report = await runUpsell({ log: (line) => console.log(line) });
  const problems = upsellProblems(report);
  if (problems.length > 0) {
    console.error(`\nPOINT NOT MADE:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    process.exit(1);
  }
  console.log(
    `\nWithout a key the retry charged ${report.naive.chargeIds.length} times; with one the customer was charged exactly once.`,
  );
}

main().catch((error: unknown) => {
  console.error(`upsell-charge failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
