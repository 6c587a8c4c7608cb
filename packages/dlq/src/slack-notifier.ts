import {
  assertFunction,
  assertKnownKeys,
  assertNonEmptyString,
  assertPlainObject,
  assertPositiveInteger,
  optionError,
} from '@axios-resilience/core';
import type { DlqAlert } from './monitor';

/** The part of `fetch` the notifier needs. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string },
) => Promise<{ ok: boolean; status: number }>;

/** Options of `slackWebhookNotifier`. */
export interface SlackWebhookNotifierOptions {
  /**
   * Sends the webhook request; inject one for a proxy or tests.
   * @default the global fetch, read at call time
   */
  fetch?: FetchLike;
  /** How many samples the message lists (at most as many as the alert carries). @default 5 */
  maxSamples?: number;
  /** The first line of the message. @default 'Dead-letter queue' */
  title?: string;
}

/** The Slack message for an alert: the count and a few samples (method, redacted URL, reason, status). */
export function formatDlqAlert(alert: DlqAlert, options: { maxSamples?: number; title?: string } = {}): string {
  const title = options.title ?? 'Dead-letter queue';
  const count = alert.count.toLocaleString('en-US');
  const lines = [
    `:rotating_light: *${title}*: ${count} failed request${alert.count === 1 ? '' : 's'} waiting (alert threshold ${alert.threshold}).`,
  ];
  const shown = alert.samples.slice(0, options.maxSamples ?? 5);
  for (const sample of shown) {
    const status = sample.status === null ? 'no response' : String(sample.status);
    lines.push(`• ${sample.method} ${sample.url} (${sample.reason}, ${status}) at ${sample.createdAt}`);
  }
  if (alert.count > shown.length) lines.push(`…and ${(alert.count - shown.length).toLocaleString('en-US')} more.`);
  lines.push('Replay with `axios-resilience-dlq replay` once the cause is fixed.');
  return lines.join('\n');
}

/**
 * A `notify` for `createDlqMonitor` that posts `{ text }` to a Slack incoming webhook. The webhook URL is a
 * credential: it never appears in the errors this throws.
 */
export function slackWebhookNotifier(
  url: string,
  options: SlackWebhookNotifierOptions = {},
): (alert: DlqAlert) => Promise<void> {
  assertNonEmptyString('slackWebhookNotifier(url)', url);
  assertPlainObject('slackWebhookNotifier(options)', options);
  assertKnownKeys('slackWebhookNotifier', options as Record<string, unknown>, ['fetch', 'maxSamples', 'title']);
  if (options.fetch !== undefined) assertFunction('slackWebhookNotifier.fetch', options.fetch);
  if (options.maxSamples !== undefined) assertPositiveInteger('slackWebhookNotifier.maxSamples', options.maxSamples);
  if (options.title !== undefined) assertNonEmptyString('slackWebhookNotifier.title', options.title);

  return async (alert) => {
    const send = options.fetch ?? (globalThis.fetch as unknown as FetchLike | undefined);
    if (typeof send !== 'function')
      throw optionError('slackWebhookNotifier.fetch', 'a fetch function (none is global here)', send);
    let response: { ok: boolean; status: number };
    try {
      response = await send(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: formatDlqAlert(alert, options) }),
      });
    } catch (error) {
      const code = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
      throw new Error(`the Slack webhook could not be reached${typeof code === 'string' ? ` (${code})` : ''}`);
    }
    if (!response.ok) throw new Error(`the Slack webhook answered ${response.status}`);
  };
}
