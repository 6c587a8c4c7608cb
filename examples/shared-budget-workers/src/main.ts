import { runSharedBudget, sharedBudgetProblems } from './shared-budget';

async function main(): Promise<void> {
  const report = await runSharedBudget({ log: (line) => console.log(line) });
  const problems = sharedBudgetProblems(report);
  if (problems.length > 0) {
    console.error(`\nPOINT NOT MADE:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    process.exit(1);
  }
  console.log(
    `\n${report.workerNames.length} processes, one budget: the API never saw more than ${report.limit} + ${report.workerNames.length} requests in a second.`,
  );
}

main().catch((error: unknown) => {
  console.error(`shared-budget-workers failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
