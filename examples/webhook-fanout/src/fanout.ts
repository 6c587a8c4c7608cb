import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import axios, { type AxiosInstance } from 'axios';
import {
  attachResilience,
  fileSink,
  getFailureSummary,
  getResilience,
  replay,
  type FailureReason,
  type ReplaySummary,
} from 'axios-resilience';
import { startSubscribers, WEBHOOK_SECRET_HEADER, type SubscriberMode } from './subscribers';

/**
 * One event fanned out to six webhook subscribers through the whole pipeline, with a dead-letter file sink.
 * Three subscribers fail for good (a bug, a removed endpoint, a stuck commit); their deliveries land in the
 * dead-letter queue, the subscribers are fixed, and `replay` sends the deliveries again with the same
 * idempotency keys, so every subscriber processes the event exactly once.
 */

export const SUBSCRIBER_MODES: Readonly<Record<string, SubscriberMode>> = {
  billing: 'ok',
  email: 'ok',
  warehouse: 'flaky',
  crm: 'broken',
  analytics: 'gone',
  search: 'stuck',
};

export interface WebhookEvent {
  id: string;
  type: string;
  created: number;
  data: Record<string, unknown>;
}

export interface FanoutOptions {
  /**
   * The sender's per-attempt timeout.
   * @default 300
   */
  timeoutMs?: number;
  /**
   * Retries per delivery.
   * @default 2
   */
  maxRetries?: number;
  /**
   * The wait before the first retry (plus up to as much again of jitter).
   * @default 100
   */
  baseDelayMs?: number;
  /** The dead-letter file; a fresh temporary one (removed at the end) by default. */
  deadLetterPath?: string;
  log?: (line: string) => void;
}

export interface DeliveryOutcome {
  subscriber: string;
  outcome: 'delivered' | 'dead-lettered' | 'failed';
  attempts: number;
  /** The last answer's status, when there was one. */
  status?: number;
  /** The last attempt's network error code, when it had no answer. */
  code?: string;
  reason?: FailureReason;
  deadLetterId?: string;
}

export interface DeadLetterView {
  id: string;
  subscriber: string;
  reason: FailureReason;
  attempts: number;
  status: number | null;
  code: string | null;
  idempotencyKey: string | null;
  redacted: string[];
  /** Whether the webhook secret appears anywhere in the stored record. */
  containsSecret: boolean;
}

export interface SubscriberTally {
  name: string;
  /** HTTP requests received, duplicates included. */
  requests: number;
  /** Times the event was processed. */
  processed: number;
}

export interface FanoutReport {
  event: WebhookEvent;
  deliveries: DeliveryOutcome[];
  deadLetters: DeadLetterView[];
  replay: ReplaySummary;
  /** Records still in the queue after the replay. */
  leftInQueue: number;
  subscribers: SubscriberTally[];
}

const SECRET = 'whsec_local_example_only';

function subscriberOf(url: string): string {
  return url.split('/').pop() ?? url;
}

/** Sends the event to every subscriber at once; each delivery carries a key made of the event and subscriber. */
async function fanOut(
  sender: AxiosInstance,
  event: WebhookEvent,
  subscribers: Array<{ name: string; url: string }>,
): Promise<DeliveryOutcome[]> {
  return Promise.all(
    subscribers.map(async ({ name, url }): Promise<DeliveryOutcome> => {
      try {
        const response = await sender.post(url, event, {
          // A key the subscriber can de-duplicate on, and the same one on every retry and replay.
          resilience: { idempotencyKey: `${event.id}/${name}` },
        });
        return {
          subscriber: name,
          outcome: 'delivered',
          status: response.status,
          attempts: getResilience(response.config).attempt ?? 1,
        };
      } catch (error) {
        const summary = getFailureSummary(error);
        return {
          subscriber: name,
          outcome: summary?.deadLetterId ? 'dead-lettered' : 'failed',
          attempts: summary?.attempts ?? 1,
          status: axios.isAxiosError(error) ? error.response?.status : undefined,
          code: axios.isAxiosError(error) && !error.response ? error.code : undefined,
          reason: summary?.reason,
          deadLetterId: summary?.deadLetterId,
        };
      }
    }),
  );
}

function describeDelivery(delivery: DeliveryOutcome): string {
  const name = delivery.subscriber.padEnd(10);
  const attempts = `${delivery.attempts} attempt${delivery.attempts === 1 ? '' : 's'}`;
  if (delivery.outcome === 'delivered') return `  ${name} delivered      HTTP ${delivery.status} after ${attempts}`;
  const cause = delivery.status === undefined ? delivery.code : `HTTP ${delivery.status}`;
  return `  ${name} ${delivery.outcome.padEnd(14)} ${delivery.reason} after ${attempts} (${cause})`;
}

export async function runWebhookFanout(options: FanoutOptions = {}): Promise<FanoutReport> {
  const timeoutMs = options.timeoutMs ?? 300;
  const maxRetries = options.maxRetries ?? 2;
  const baseDelayMs = options.baseDelayMs ?? 100;
  const log = options.log ?? (() => undefined);
  const temporaryDir = options.deadLetterPath
    ? undefined
    : fs.mkdtempSync(path.join(os.tmpdir(), 'axios-resilience-webhooks-'));
  const deadLetterPath = options.deadLetterPath ?? path.join(temporaryDir!, 'dead-letters.jsonl');
  const sink = fileSink({ path: deadLetterPath });
  const server = await startSubscribers(SUBSCRIBER_MODES, SECRET);
  try {
    const sender = axios.create({ timeout: timeoutMs, headers: { [WEBHOOK_SECRET_HEADER]: SECRET } });
    attachResilience(sender, {
      retry: { maxRetries, baseDelayMs, jitterMs: baseDelayMs },
      deadLetter: { sink },
    });

    const event: WebhookEvent = {
      id: 'evt_1001',
      type: 'order.paid',
      created: Math.floor(Date.now() / 1000),
      data: { orderId: 'ord_42', amount: 4900, currency: 'usd' },
    };
    const targets = [...server.subscribers.values()].map(({ name, url }) => ({ name, url }));
    log(
      `Event ${event.id} (${event.type}) to ${targets.length} subscribers through attachResilience ` +
        `(timeout ${timeoutMs} ms, ${maxRetries} retries, dead letters to a file):`,
    );
    const deliveries = await fanOut(sender, event, targets);
    for (const delivery of deliveries) log(describeDelivery(delivery));

    const records = await sink.list();
    const deadLetters: DeadLetterView[] = records.map((record) => ({
      id: record.id,
      subscriber: subscriberOf(record.url),
      reason: record.reason,
      attempts: record.attempts,
      status: record.error.status,
      code: record.error.code,
      idempotencyKey: record.idempotencyKey,
      redacted: record.redacted,
      containsSecret: JSON.stringify(record).includes(SECRET),
    }));
    log('');
    log(
      `Dead-letter queue (${temporaryDir ? 'a temporary JSONL file' : deadLetterPath}): ${deadLetters.length} records`,
    );
    for (const letter of deadLetters) {
      log(
        `  ${letter.id}  /hooks/${letter.subscriber.padEnd(10)} ${letter.reason.padEnd(17)} ` +
          `key ${String(letter.idempotencyKey).padEnd(18)} redacted: ${letter.redacted.join(', ') || 'nothing'}`,
      );
    }

    server.fixAll();
    log('');
    log('The subscribers are fixed; replay({ instance: sender, sink, concurrency: 3 }):');
    const summary = await replay({ instance: sender, sink, concurrency: 3 });
    log(
      `  attempted ${summary.attempted}, succeeded ${summary.succeeded}, failed ${summary.failed}, skipped ${summary.skipped}`,
    );
    const byId = new Map(deadLetters.map((letter) => [letter.id, letter.subscriber]));
    for (const result of summary.results) {
      const detail = result.outcome === 'succeeded' ? `HTTP ${result.status}` : (result.error ?? result.reason);
      log(`  ${(byId.get(result.id) ?? result.id).padEnd(10)} ${result.outcome} ${detail ?? ''}`.trimEnd());
    }
    const leftInQueue = await sink.size();
    log(`  left in the queue: ${leftInQueue}`);

    const subscribers = [...server.subscribers.values()].map(({ name, requests, processed }) => ({
      name,
      requests,
      processed: processed.size,
    }));
    log('');
    log('What each subscriber saw (duplicates are acknowledged by key, never processed twice):');
    for (const tally of subscribers) {
      log(
        `  ${tally.name.padEnd(10)} ${String(tally.requests).padStart(2)} request(s), processed the event ${tally.processed} time(s)`,
      );
    }
    return { event, deliveries, deadLetters, replay: summary, leftInQueue, subscribers };
  } finally {
    await server.close();
    await sink.close();
    if (temporaryDir) fs.rmSync(temporaryDir, { recursive: true, force: true });
  }
}

/** What must hold for the example to have made its point; empty when it did. */
export function fanoutProblems(report: FanoutReport): string[] {
  const problems: string[] = [];
  const expectedDead = Object.entries(SUBSCRIBER_MODES)
    .filter(([, mode]) => mode === 'broken' || mode === 'gone' || mode === 'stuck')
    .map(([name]) => name)
    .sort();
  const dead = report.deadLetters.map((letter) => letter.subscriber).sort();
  if (dead.join() !== expectedDead.join()) {
    problems.push(`dead-lettered ${dead.join(', ') || 'nothing'}; expected ${expectedDead.join(', ')}`);
  }
  for (const delivery of report.deliveries) {
    if (expectedDead.includes(delivery.subscriber)) continue;
    if (delivery.outcome !== 'delivered') problems.push(`${delivery.subscriber} was not delivered to at first`);
  }
  if (report.deadLetters.some((letter) => letter.containsSecret)) {
    problems.push('a dead-letter record holds the webhook secret');
  }
  if (report.replay.succeeded !== expectedDead.length || report.replay.failed + report.replay.skipped > 0) {
    problems.push(
      `replay: ${report.replay.succeeded} succeeded, ${report.replay.failed} failed, ${report.replay.skipped} skipped`,
    );
  }
  if (report.leftInQueue !== 0) problems.push(`${report.leftInQueue} record(s) left in the queue after the replay`);
  for (const tally of report.subscribers) {
    if (tally.processed !== 1) problems.push(`${tally.name} processed the event ${tally.processed} time(s)`);
  }
  return problems;
}
