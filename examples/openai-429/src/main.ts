import { openAi429Problems, runOpenAi429 } from './openai-429';

const HINTS = [300, 450, 200];

async function main(): Promise<void> {
  const report = await runOpenAi429({ retryAfterMs: HINTS, log: (line) => console.log(line) });
  const problems = openAi429Problems(report, HINTS);
  if (problems.length > 0) {
    console.error(`\nPOINT NOT MADE:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    process.exit(1);
  }
  console.log(
    `\nEvery wait was exactly the server's retry-after-ms, and a ${report.quota.retryAfterSeconds} s Retry-After failed at once.`,
  );
}

main().catch((error: unknown) => {
  console.error(`openai-429 failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
