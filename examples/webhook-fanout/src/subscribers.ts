import { sendJson, startTestServer, type TestServer } from '@axios-resilience/testkit';

/**
 * Webhook subscribers on one loopback server, one path each, that fail the ways real receivers do. Each
 * de-duplicates by idempotency key, as a webhook receiver should: a delivery it has already processed is
 * acknowledged again but never processed twice.
 */

/**
 * How a subscriber answers:
 * - `ok`: processes the delivery, answers 200
 * - `broken`: answers 500 without processing (a bug in its handler)
 * - `gone`: answers 410 without processing (the endpoint was removed)
 * - `stuck`: processes the delivery, then never answers (a slow commit past the sender's timeout)
 * - `flaky`: answers 503 to its first request, then behaves as `ok`
 */
export type SubscriberMode = 'ok' | 'broken' | 'gone' | 'stuck' | 'flaky';

export const WEBHOOK_SECRET_HEADER = 'x-webhook-secret';

export interface Subscriber {
  name: string;
  url: string;
  mode: SubscriberMode;
  /** HTTP requests received, duplicates included. */
  requests: number;
  /** Deliveries processed, by idempotency key: what the subscriber's own database holds. */
  processed: Map<string, unknown>;
}

export interface SubscriberServer {
  url: string;
  subscribers: Map<string, Subscriber>;
  /** Every subscriber starts answering `ok`: the fixes have been deployed. */
  fixAll(): void;
  close(): Promise<void>;
}

export async function startSubscribers(
  modes: Record<string, SubscriberMode>,
  secret: string,
): Promise<SubscriberServer> {
  const subscribers = new Map<string, Subscriber>();
  const server: TestServer = await startTestServer((request, response) => {
    const match = /^\/hooks\/([a-z-]+)$/.exec(request.url);
    const subscriber = match ? subscribers.get(match[1]) : undefined;
    if (!subscriber || request.method !== 'POST') return sendJson(response, 404, { error: 'no such hook' });
    subscriber.requests += 1;
    if (request.headers[WEBHOOK_SECRET_HEADER] !== secret) return sendJson(response, 401, { error: 'bad secret' });
    const key = request.headers['idempotency-key'];
    if (typeof key !== 'string' || key === '') return sendJson(response, 400, { error: 'Idempotency-Key required' });

    const mode = subscriber.mode;
    if (mode === 'broken') return sendJson(response, 500, { error: 'TypeError: cannot read properties of undefined' });
    if (mode === 'gone') return sendJson(response, 410, { error: 'this endpoint was removed' });
    if (mode === 'flaky') {
      subscriber.mode = 'ok';
      return sendJson(response, 503, { error: 'deploying, try again' });
    }
    const duplicate = subscriber.processed.has(key);
    if (!duplicate) subscriber.processed.set(key, JSON.parse(request.body.toString('utf8')));
    // A stuck subscriber has committed; its answer never comes, and the sender's timeout runs out.
    if (mode === 'stuck') return;
    return sendJson(response, 200, duplicate ? { received: true, duplicate: true } : { received: true });
  });
  for (const [name, mode] of Object.entries(modes)) {
    subscribers.set(name, { name, url: `${server.url}/hooks/${name}`, mode, requests: 0, processed: new Map() });
  }
  return {
    url: server.url,
    subscribers,
    fixAll() {
      for (const subscriber of subscribers.values()) subscriber.mode = 'ok';
    },
    close: () => server.close(),
  };
}
