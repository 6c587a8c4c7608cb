import axios, { type AxiosError, type AxiosInstance } from 'axios';
import type { FailureSummary } from '@axios-resilience/core';
import { attachIdempotency } from '@axios-resilience/idempotency';
import { attachRetry } from '@axios-resilience/retry';
import { sendJson, startTestServer, type TestServer } from '@axios-resilience/testkit';
import { attachDeadLetter, memorySink, type MemorySink } from '@axios-resilience/dlq';

type Failed = AxiosError & { resilience?: FailureSummary };

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer((request, response) => {
    const status = Number(new URL(request.url, 'http://x').searchParams.get('status') ?? 503);
    sendJson(response, status, { error: `answered ${status}` });
  });
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.requests.length = 0;
});

const ORDERS: Array<[string, (instance: AxiosInstance, sink: MemorySink) => void]> = [
  [
    'dead letter attached last',
    (instance, sink) => {
      attachIdempotency(instance);
      attachRetry(instance, { baseDelayMs: 5, jitter: 'none' });
      attachDeadLetter(instance, { sink });
    },
  ],
  [
    'dead letter attached first',
    (instance, sink) => {
      attachDeadLetter(instance, { sink });
      attachRetry(instance, { baseDelayMs: 5, jitter: 'none' });
      attachIdempotency(instance);
    },
  ],
];

describe.each(ORDERS)('only final failures are dead-lettered (%s)', (_order, attach) => {
  let sink: MemorySink;
  let instance: AxiosInstance;
  beforeEach(() => {
    sink = memorySink();
    instance = axios.create({ baseURL: server.url });
    attach(instance, sink);
  });

  const failed = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error('expected a failure');
      },
      (error: unknown) => error as Failed,
    );

  it('a keyed POST that always gets 503: one record after six attempts', async () => {
    const error = await failed(instance.post('/charges?status=503', { amount: 1200 }));
    expect(server.requests).toHaveLength(6);
    const keys = new Set(server.requests.map((request) => request.headers['idempotency-key']));
    expect(keys.size).toBe(1);

    const records = await sink.list();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      attempts: 6,
      reason: 'retries-exhausted',
      idempotencyKey: [...keys][0],
      error: { status: 503 },
    });
    expect(error.resilience).toMatchObject({ attempts: 6, reason: 'retries-exhausted', deadLetterId: records[0].id });
  });

  it('a 422: one record after one attempt, not retryable', async () => {
    const error = await failed(instance.post('/charges?status=422', { amount: -1 }));
    expect(server.requests).toHaveLength(1);
    const records = await sink.list();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ attempts: 1, reason: 'not-retryable', error: { status: 422 } });
    expect(error.resilience?.deadLetterId).toBe(records[0].id);
  });

  it('an aborted request: no record, and the caller gets the cancellation', async () => {
    const controller = new AbortController();
    const pending = failed(
      instance.post(
        '/charges?status=503',
        { amount: 1 },
        { signal: controller.signal, resilience: { retry: { baseDelayMs: 5_000 } } },
      ),
    );
    // Abort during the first backoff wait.
    while (server.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort();
    const error = await pending;
    expect(axios.isCancel(error)).toBe(true);
    expect(server.requests).toHaveLength(1);
    expect(await sink.size()).toBe(0);
  });

  it('a failed GET: retried, then no record', async () => {
    const error = await failed(instance.get('/charges/ch_1?status=503'));
    expect(server.requests).toHaveLength(6);
    expect(error.resilience).toMatchObject({ attempts: 6, reason: 'retries-exhausted' });
    expect(error.resilience?.deadLetterId).toBeUndefined();
    expect(await sink.size()).toBe(0);
  });
});
