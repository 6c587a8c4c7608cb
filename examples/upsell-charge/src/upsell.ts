import axios, { type AxiosInstance } from 'axios';
import { attachResilience, wasReplayed, type RetryScheduledState } from 'axios-resilience';
import { attachRetry } from '@axios-resilience/retry';
import { startFlakyApi } from '@axios-resilience/testkit';

/**
 * The article's upsell, replayed on a loopback payments API: the API charges the card, then takes longer to
 * answer than the client waits. A client that retries the POST without an idempotency key charges the
 * customer twice; one that sends the same key on every attempt is answered from the API's idempotency store.
 */

export interface UpsellOptions {
  /**
   * The client's per-attempt timeout.
   * @default 500
   */
  timeoutMs?: number;
  /**
   * How long the API holds its answer back after it has charged the card; longer than `timeoutMs`.
   * @default 1_500
   */
  answerDelayMs?: number;
  /**
   * The wait before the first retry.
   * @default 200
   */
  baseDelayMs?: number;
  /** Narration, one line at a time. */
  log?: (line: string) => void;
}

export type ClientKind = 'naive' | 'resilient';

export interface UpsellOutcome {
  client: ClientKind;
  /** Requests the payments API received for the one upsell. */
  attempts: number;
  /** The ids of the charges the API made for it. */
  chargeIds: string[];
  /** The `Idempotency-Key` each attempt carried (`undefined`: none). */
  keysSent: Array<string | undefined>;
  /** Whether the call finally succeeded, from the caller's point of view. */
  succeeded: boolean;
  /** Whether the successful answer was the API's saved result of an earlier attempt. */
  replayed: boolean;
  /** Why the call failed, when it did. */
  error?: string;
}

export interface UpsellReport {
  naive: UpsellOutcome;
  resilient: UpsellOutcome;
  timeoutMs: number;
  answerDelayMs: number;
}

const UPSELL = {
  amount: 1900,
  currency: 'usd',
  customer: 'cus_ada',
  description: 'Post-purchase upsell: extended warranty',
};

function logRetries(log: (line: string) => void) {
  return ({ attempt, code, status, error, delayMs, config }: RetryScheduledState) => {
    const why = status === undefined ? `${code ?? 'network error'} (${error.message})` : `HTTP ${status}`;
    const key = config.resilience?.idempotencyKey;
    log(
      `  attempt ${attempt} failed: ${why}; retrying in ${Math.round(delayMs)} ms` +
        (key ? ` with the same Idempotency-Key ${key}` : ' with no Idempotency-Key'),
    );
  };
}

/** One upsell through `client` against a fresh payments API whose first answer comes too late. */
async function chargeOnce(
  kind: ClientKind,
  makeClient: (baseURL: string) => AxiosInstance,
  answerDelayMs: number,
): Promise<UpsellOutcome> {
  const api = await startFlakyApi({ script: [{ kind: 'commit-then-delay', ms: answerDelayMs }] });
  try {
    const client = makeClient(api.url);
    let succeeded = false;
    let replayed = false;
    let error: string | undefined;
    try {
      const response = await client.post('/charges', UPSELL);
      succeeded = true;
      replayed = wasReplayed(response);
    } catch (failure) {
      error = failure instanceof Error ? failure.message : String(failure);
    }
    const charges = api.ledger.filter((charge) => charge.body.customer === UPSELL.customer);
    const posts = api.requests.filter((request) => request.method === 'POST' && request.url === '/charges');
    return {
      client: kind,
      attempts: posts.length,
      chargeIds: charges.map((charge) => charge.id),
      keysSent: posts.map((request) => request.idempotencyKey),
      succeeded,
      replayed,
      error,
    };
  } finally {
    await api.close();
  }
}

function describe(outcome: UpsellOutcome): string {
  const times = outcome.chargeIds.length === 1 ? 'once' : `${outcome.chargeIds.length} times`;
  const result = outcome.succeeded
    ? outcome.replayed
      ? 'the client got the saved result of the first attempt (Idempotent-Replayed: true)'
      : 'the client got a fresh charge back'
    : `the call failed: ${outcome.error}`;
  return `  ${outcome.attempts} attempts reached the API; ${UPSELL.customer} was charged ${times} (${outcome.chargeIds.join(', ') || 'none'}); ${result}`;
}

/** Runs the upsell with both clients and reports what the payments API did. */
export async function runUpsell(options: UpsellOptions = {}): Promise<UpsellReport> {
  const timeoutMs = options.timeoutMs ?? 500;
  const answerDelayMs = options.answerDelayMs ?? 1_500;
  const baseDelayMs = options.baseDelayMs ?? 200;
  const log = options.log ?? (() => undefined);

  log(
    `Upsell: $${(UPSELL.amount / 100).toFixed(2)} to ${UPSELL.customer}. The payments API charges the card, then answers ` +
      `after ${answerDelayMs} ms; the client waits ${timeoutMs} ms per attempt.`,
  );
  log('');
  log('naive client: 3 retries, no jitter, no idempotency key (the weekend the article describes)');
  const naive = await chargeOnce(
    'naive',
    (baseURL) => {
      const client = axios.create({ baseURL, timeout: timeoutMs });
      // retryNonIdempotent is what makes this client dangerous: it repeats a POST the server may have committed.
      attachRetry(client, {
        maxRetries: 3,
        baseDelayMs,
        jitter: 'none',
        retryNonIdempotent: true,
        onRetry: logRetries(log),
      });
      return client;
    },
    answerDelayMs,
  );
  log(describe(naive));

  log('');
  log('resilient client: attachResilience (retry + an idempotency key made once per upsell)');
  const resilient = await chargeOnce(
    'resilient',
    (baseURL) => {
      const client = axios.create({ baseURL, timeout: timeoutMs });
      attachResilience(client, {
        retry: { maxRetries: 3, baseDelayMs, jitterMs: baseDelayMs, onRetry: logRetries(log) },
      });
      return client;
    },
    answerDelayMs,
  );
  log(describe(resilient));

  return { naive, resilient, timeoutMs, answerDelayMs };
}

/** What must hold for the example to have made its point; empty when it did. */
export function upsellProblems(report: UpsellReport): string[] {
  const problems: string[] = [];
  const { naive, resilient } = report;
  if (naive.chargeIds.length !== 2) {
    problems.push(`the naive client was expected to charge twice, it charged ${naive.chargeIds.length} time(s)`);
  }
  if (naive.keysSent.some((key) => key !== undefined)) problems.push('the naive client sent an idempotency key');
  if (!resilient.succeeded) problems.push(`the resilient client failed: ${resilient.error}`);
  if (resilient.chargeIds.length !== 1) {
    problems.push(`the resilient client charged ${resilient.chargeIds.length} time(s) instead of once`);
  }
  if (!resilient.replayed) problems.push('the resilient client was not answered from the idempotency store');
  const keys = new Set(resilient.keysSent);
  if (resilient.attempts < 2 || keys.size !== 1 || keys.has(undefined)) {
    problems.push('the resilient client did not retry with one and the same key');
  }
  return problems;
}
