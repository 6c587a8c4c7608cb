import axios, { type AxiosInstance } from 'axios';
import { getFailureSummary, readHeader, type FailureReason } from '@axios-resilience/core';
import { attachRetry, DEFAULT_RETRY_OPTIONS, type RetryScheduledState } from '@axios-resilience/retry';
import { COMPLETIONS_PATH, startOpenAiStub } from './openai-stub';

/**
 * An OpenAI-style client under 429s. Retry reads the server's own hint first: `retry-after-ms` wins over the
 * rounded-up `retry-after`, the wait is exactly what the server asked (no jitter is added to a hint), and a
 * hint longer than `maxRetryAfterMs` ends the call at once instead of blocking it for twenty minutes.
 */

export interface OpenAi429Options {
  /**
   * The `retry-after-ms` of each 429 the API answers before it serves the completion.
   * @default [300, 450, 200]
   */
  retryAfterMs?: readonly number[];
  /**
   * The `Retry-After` (seconds) of the daily-quota 429; above `maxRetryAfterMs`.
   * @default 1_200
   */
  dailyQuotaRetryAfterSeconds?: number;
  /**
   * The client's `maxRetryAfterMs`.
   * @default 60_000 (retry's default)
   */
  maxRetryAfterMs?: number;
  log?: (line: string) => void;
}

export interface ObservedWait {
  /** The `retry-after-ms` the 429 carried. */
  askedMs: number;
  /** The wait retry scheduled, and the header it came from. */
  waitedMs: number;
  source: string;
  /** Time between the arrival of the 429'd attempt and of the next one, as the server measured it. */
  gapMs: number;
}

export interface OpenAi429Report {
  completion: { succeeded: boolean; attempts: number; content?: string; error?: string };
  waits: ObservedWait[];
  quota: {
    reason?: FailureReason;
    attempts?: number;
    totalDelayMs?: number;
    /** Requests the API received in the quota scenario. */
    requestsSent: number;
    elapsedMs: number;
    retryAfterSeconds: number;
  };
  maxRetryAfterMs: number;
}

/**
 * The client as an application would write it. A chat completion is a POST, which retry does not repeat
 * without an idempotency key; but a 429 is the API refusing the request before doing any work, so repeating
 * it cannot do anything twice, and `shouldRetry` says so.
 */
export function createOpenAiClient(
  baseURL: string,
  options: { maxRetryAfterMs?: number; onRetry?: (state: RetryScheduledState) => void } = {},
): AxiosInstance {
  const client = axios.create({
    baseURL,
    timeout: 30_000,
    headers: { Authorization: 'Bearer sk-local-example', 'Content-Type': 'application/json' },
  });
  attachRetry(client, {
    maxRetries: 5,
    maxRetryAfterMs: options.maxRetryAfterMs,
    shouldRetry: ({ status }) => (status === 429 ? true : undefined),
    onRetry: options.onRetry,
  });
  return client;
}

const PROMPT = {
  model: 'gpt-4o-mini',
  messages: [{ role: 'user', content: 'Sum up the article in one sentence.' }],
};

export async function runOpenAi429(options: OpenAi429Options = {}): Promise<OpenAi429Report> {
  const hints = options.retryAfterMs ?? [300, 450, 200];
  const quotaSeconds = options.dailyQuotaRetryAfterSeconds ?? 1_200;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_RETRY_OPTIONS.maxRetryAfterMs;
  const log = options.log ?? (() => undefined);
  const stub = await startOpenAiStub();
  try {
    const scheduled: Array<Omit<ObservedWait, 'gapMs'>> = [];
    const client = createOpenAiClient(stub.url, {
      maxRetryAfterMs,
      onRetry: ({ error, delayMs, source }) => {
        const headers = error.response?.headers;
        const askedMs = Number(readHeader(headers, 'retry-after-ms'));
        scheduled.push({ askedMs, waitedMs: delayMs, source });
        log(
          `  429 (x-ratelimit-remaining-requests: ${readHeader(headers, 'x-ratelimit-remaining-requests')}, ` +
            `retry-after-ms: ${askedMs}, retry-after: ${readHeader(headers, 'retry-after')}) -> waiting ${delayMs} ms (from ${source})`,
        );
      },
    });

    log(`OpenAI-style API on ${stub.url}; the client is axios with attachRetry.`);
    log('');
    log(`1. Over the per-minute request limit: ${hints.length} answers of 429 with retry-after-ms ${hints.join(', ')}`);
    stub.rateLimitNext(hints);
    const completion: OpenAi429Report['completion'] = { succeeded: false, attempts: 0 };
    try {
      const response = await client.post<{ choices: Array<{ message: { content: string } }> }>(
        COMPLETIONS_PATH,
        PROMPT,
      );
      completion.succeeded = true;
      completion.content = response.data.choices[0]?.message.content;
    } catch (error) {
      completion.error = error instanceof Error ? error.message : String(error);
    }
    const arrivals = stub.completionRequests().map((request) => request.receivedAt);
    completion.attempts = arrivals.length;
    const waits = scheduled.map((wait, index) => ({ ...wait, gapMs: arrivals[index + 1] - arrivals[index] }));
    if (completion.succeeded) log(`  200 after ${completion.attempts} attempts: "${completion.content}"`);
    else log(`  failed after ${completion.attempts} attempts: ${completion.error}`);
    log(
      `  the server saw the attempts ${waits.map((wait) => `${wait.gapMs} ms`).join(', ')} apart ` +
        `(it asked for ${hints.map((hint) => `${hint} ms`).join(', ')})`,
    );

    log('');
    log(
      `2. Over the daily token limit: 429 with Retry-After: ${quotaSeconds} (${quotaSeconds / 60} minutes), ` +
        `above maxRetryAfterMs ${maxRetryAfterMs}`,
    );
    stub.restore();
    stub.exhaustDailyQuota(quotaSeconds);
    const before = stub.completionRequests().length;
    const startedAt = Date.now();
    const quota: OpenAi429Report['quota'] = { requestsSent: 0, elapsedMs: 0, retryAfterSeconds: quotaSeconds };
    try {
      await client.post(COMPLETIONS_PATH, PROMPT);
      log('  unexpectedly succeeded');
    } catch (error) {
      quota.elapsedMs = Date.now() - startedAt;
      const summary = getFailureSummary(error);
      quota.reason = summary?.reason;
      quota.attempts = summary?.attempts;
      quota.totalDelayMs = summary?.totalDelayMs;
      const status = axios.isAxiosError(error) ? error.response?.status : undefined;
      log(
        `  failed fast: HTTP ${status}, reason ${quota.reason} after ${quota.attempts} attempt(s), ` +
          `${quota.totalDelayMs} ms waited, ${quota.elapsedMs} ms in all`,
      );
    }
    quota.requestsSent = stub.completionRequests().length - before;
    return { completion, waits, quota, maxRetryAfterMs };
  } finally {
    await stub.close();
  }
}

/** What must hold for the example to have made its point; empty when it did. */
export function openAi429Problems(report: OpenAi429Report, expectedHints: readonly number[]): string[] {
  const problems: string[] = [];
  if (!report.completion.succeeded) problems.push(`the completion failed: ${report.completion.error}`);
  if (report.completion.attempts !== expectedHints.length + 1) {
    problems.push(`expected ${expectedHints.length + 1} attempts, the API saw ${report.completion.attempts}`);
  }
  report.waits.forEach((wait, index) => {
    if (wait.source !== 'retry-after-ms' || wait.waitedMs !== expectedHints[index]) {
      problems.push(
        `retry ${index + 1} waited ${wait.waitedMs} ms from ${wait.source}; the server asked ${expectedHints[index]} ms`,
      );
    }
    // Timers never fire early, but the server stamps arrivals with millisecond clocks on both ends.
    if (wait.gapMs < expectedHints[index] - 1) {
      problems.push(`retry ${index + 1} reached the server ${wait.gapMs} ms later, sooner than asked`);
    }
  });
  if (report.quota.reason !== 'retry-after-too-long') {
    problems.push(`the daily-quota 429 ended with reason ${report.quota.reason}, not retry-after-too-long`);
  }
  if (report.quota.requestsSent !== 1 || report.quota.totalDelayMs !== 0) {
    problems.push(
      `the daily-quota call sent ${report.quota.requestsSent} request(s) and waited ${report.quota.totalDelayMs} ms; expected 1 and 0`,
    );
  }
  return problems;
}
