import { sendJson, startTestServer, type RecordedRequest, type TestServer } from '@axios-resilience/testkit';

/**
 * A loopback stand-in for OpenAI's chat completions endpoint that answers the way the real one does when a
 * client goes over its limits: 429 with `retry-after-ms` (OpenAI's millisecond hint), a rounded-up
 * `retry-after`, and the `x-ratelimit-*-requests` / `x-ratelimit-*-tokens` quota headers.
 */

export const COMPLETIONS_PATH = '/v1/chat/completions';

const REQUESTS_PER_MINUTE = 3;
const TOKENS_PER_MINUTE = 40_000;

export interface OpenAiStub {
  url: string;
  /** Requests to the completions endpoint, in arrival order. */
  completionRequests(): RecordedRequest[];
  /** The next requests get a 429 each, with these `retry-after-ms` values; then completions again. */
  rateLimitNext(retryAfterMs: readonly number[]): void;
  /** Every request gets a 429 with `Retry-After: seconds` (a daily token limit), until `restore()`. */
  exhaustDailyQuota(seconds: number): void;
  restore(): void;
  close(): Promise<void>;
}

function quotaHeaders(remainingRequests: number, resetRequestsMs: number): Record<string, string> {
  return {
    'x-ratelimit-limit-requests': String(REQUESTS_PER_MINUTE),
    'x-ratelimit-remaining-requests': String(remainingRequests),
    'x-ratelimit-reset-requests': `${resetRequestsMs}ms`,
    'x-ratelimit-limit-tokens': String(TOKENS_PER_MINUTE),
    'x-ratelimit-remaining-tokens': String(TOKENS_PER_MINUTE - 48),
    'x-ratelimit-reset-tokens': '72ms',
  };
}

function completion(model: string): unknown {
  return {
    id: 'chatcmpl-local-1',
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'Backoff with jitter is the body; idempotency keys are the spine.' },
        finish_reason: 'stop',
      },
    ],
    usage: { prompt_tokens: 31, completion_tokens: 17, total_tokens: 48 },
  };
}

function requestedModel(request: RecordedRequest): string {
  try {
    const body = JSON.parse(request.body.toString('utf8')) as { model?: unknown };
    return typeof body.model === 'string' ? body.model : 'gpt-4o-mini';
  } catch {
    return 'gpt-4o-mini';
  }
}

export async function startOpenAiStub(): Promise<OpenAiStub> {
  const pending429s: number[] = [];
  let dailyQuotaResetSeconds: number | undefined;

  const server: TestServer = await startTestServer((request, response) => {
    if (request.method !== 'POST' || request.url !== COMPLETIONS_PATH) {
      return sendJson(response, 404, { error: { message: `Unknown route ${request.method} ${request.url}` } });
    }
    const model = requestedModel(request);
    if (dailyQuotaResetSeconds !== undefined) {
      const minutes = Math.floor(dailyQuotaResetSeconds / 60);
      return sendJson(
        response,
        429,
        {
          error: {
            message: `Rate limit reached for ${model} on tokens per day (TPD). Please try again in ${minutes}m0s.`,
            type: 'tokens',
            param: null,
            code: 'rate_limit_exceeded',
          },
        },
        { 'retry-after': String(dailyQuotaResetSeconds), ...quotaHeaders(REQUESTS_PER_MINUTE - 1, 20_000) },
      );
    }
    const retryAfterMs = pending429s.shift();
    if (retryAfterMs !== undefined) {
      return sendJson(
        response,
        429,
        {
          error: {
            message: `Rate limit reached for ${model} on requests per min (RPM): Limit ${REQUESTS_PER_MINUTE}, Used ${REQUESTS_PER_MINUTE}, Requested 1. Please try again in ${retryAfterMs}ms.`,
            type: 'requests',
            param: null,
            code: 'rate_limit_exceeded',
          },
        },
        {
          'retry-after-ms': String(retryAfterMs),
          'retry-after': String(Math.ceil(retryAfterMs / 1000)),
          ...quotaHeaders(0, retryAfterMs),
        },
      );
    }
    return sendJson(response, 200, completion(model), quotaHeaders(REQUESTS_PER_MINUTE - 1, 20_000));
  });

  return {
    url: server.url,
    completionRequests: () => server.requests.filter((request) => request.url === COMPLETIONS_PATH),
    rateLimitNext(retryAfterMs) {
      pending429s.push(...retryAfterMs);
    },
    exhaustDailyQuota(seconds) {
      dailyQuotaResetSeconds = seconds;
    },
    restore() {
      pending429s.length = 0;
      dailyQuotaResetSeconds = undefined;
    },
    close: () => server.close(),
  };
}
