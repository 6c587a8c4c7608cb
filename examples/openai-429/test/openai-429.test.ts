import path from 'node:path';
import { openAi429Problems, runOpenAi429 } from '../src/openai-429';
import { runTsx } from '@axios-resilience/testkit';

describe('openai-429', () => {
  it('waits exactly the retry-after-ms of each 429, and fails fast on a Retry-After above maxRetryAfterMs', async () => {
    const hints = [120, 40, 250];
    const lines: string[] = [];
    const report = await runOpenAi429({ retryAfterMs: hints, log: (line) => lines.push(line) });

    expect(report.completion).toMatchObject({ succeeded: true, attempts: 4 });
    expect(report.completion.content).toMatch(/idempotency keys are the spine/);
    // Every 429 also carried retry-after: 1 (whole seconds, rounded up); the millisecond hint won, unjittered.
    expect(report.waits.map((wait) => [wait.askedMs, wait.waitedMs, wait.source])).toEqual(
      hints.map((hint) => [hint, hint, 'retry-after-ms']),
    );
    // And the server saw the next attempt no sooner than it asked.
    for (const [index, wait] of report.waits.entries()) expect(wait.gapMs).toBeGreaterThanOrEqual(hints[index] - 1);

    expect(report.quota).toMatchObject({
      reason: 'retry-after-too-long',
      attempts: 1,
      totalDelayMs: 0,
      requestsSent: 1,
      retryAfterSeconds: 1_200,
    });
    expect(openAi429Problems(report, hints)).toEqual([]);
    expect(lines).toContain(
      '  429 (x-ratelimit-remaining-requests: 0, retry-after-ms: 40, retry-after: 1) -> waiting 40 ms (from retry-after-ms)',
    );
  });

  it('a lower maxRetryAfterMs turns even a short retry-after-ms into a fast failure, and the check says so', async () => {
    const report = await runOpenAi429({ retryAfterMs: [150], maxRetryAfterMs: 100, dailyQuotaRetryAfterSeconds: 60 });
    expect(report.completion).toMatchObject({ succeeded: false, attempts: 1 });
    expect(report.waits).toEqual([]);
    expect(report.quota.reason).toBe('retry-after-too-long');
    expect(openAi429Problems(report, [150])).toEqual([
      expect.stringMatching(/^the completion failed: Request failed with status code 429/),
      'expected 2 attempts, the API saw 1',
    ]);
  });

  it('`pnpm start` prints the waits and exits 0', async () => {
    const run = await runTsx(path.join(__dirname, '..', 'src', 'main.ts'), [], { timeoutMs: 60_000 });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/retry-after-ms: 450, retry-after: 1\) -> waiting 450 ms \(from retry-after-ms\)/);
    expect(run.stdout).toMatch(/200 after 4 attempts/);
    expect(run.stdout).toMatch(/failed fast: HTTP 429, reason retry-after-too-long after 1 attempt\(s\), 0 ms waited/);
  }, 60_000);
});
