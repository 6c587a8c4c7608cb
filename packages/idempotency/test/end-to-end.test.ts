import http from 'node:http';
import { getFailureSummary, getResilience } from '@axios-resilience/core';
import { attachRetry, type RetryOptions } from '@axios-resilience/retry';
import { startFlakyApi, type FlakyApi, type FlakyApiOptions, type FlakyRequest } from '@axios-resilience/testkit';
import axios, { type AxiosError, type AxiosInstance } from 'axios';
import { attachIdempotency, wasReplayed, type IdempotencyOptions } from '../src';

/** Fast retries for tests: the behaviour is the same as with the production defaults, only quicker. */
const FAST_RETRY: RetryOptions = { baseDelayMs: 10, jitter: 'none', retryBudget: false };

const servers: FlakyApi[] = [];
const agents: http.Agent[] = [];

afterEach(async () => {
  for (const agent of agents.splice(0)) agent.destroy();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function flakyApi(options?: FlakyApiOptions): Promise<FlakyApi> {
  const server = await startFlakyApi(options);
  servers.push(server);
  return server;
}

function client(server: FlakyApi, layers: { retry?: RetryOptions | false; idempotency?: IdempotencyOptions | false }) {
  const agent = new http.Agent({ keepAlive: true });
  agents.push(agent);
  const instance = axios.create({ baseURL: server.url, httpAgent: agent });
  if (layers.idempotency !== false) attachIdempotency(instance, layers.idempotency);
  if (layers.retry !== false) attachRetry(instance, { ...FAST_RETRY, ...layers.retry });
  return instance;
}

async function failure(promise: Promise<unknown>): Promise<AxiosError> {
  try {
    await promise;
  } catch (error) {
    if (axios.isAxiosError(error)) return error;
    throw error;
  }
  throw new Error('expected the request to fail');
}

function groupBy<T>(items: T[], keyOf: (item: T) => string | undefined): Map<string | undefined, T[]> {
  const groups = new Map<string | undefined, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  return groups;
}

const orderOf = (request: FlakyRequest) => (JSON.parse(request.body) as { orderId: string }).orderId;

/** Runs `count` operations, at most `concurrency` at a time. */
async function runPool<T>(count: number, concurrency: number, operation: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < count) {
      const index = next;
      next += 1;
      results[index] = await operation(index);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

describe("the article's story: the charge commits, the client times out", () => {
  // The server makes the charge, then answers only after 1 s; the client gives up after 200 ms.
  const story: FlakyApiOptions = { script: [{ kind: 'commit-then-delay', ms: 1_000 }] };

  it('with retry and idempotency, the caller gets the charge back and the ledger holds exactly one', async () => {
    const server = await flakyApi(story);
    const instance = client(server, {});
    const response = await instance.post('/charges', { amount: 4_900, customer: 'cus_42' }, { timeout: 200 });
    expect(response.status).toBe(200);
    expect(response.data).toMatchObject({ id: 'ch_1', amount: 4_900 });
    expect(wasReplayed(response)).toBe(true);
    expect(server.ledger).toHaveLength(1);
    expect(server.requests).toHaveLength(2);
    const [first, second] = server.requests;
    expect(second.idempotencyKey).toBe(first.idempotencyKey);
    expect(getResilience(response.config)).toMatchObject({ attempt: 2, idempotencyKey: first.idempotencyKey });
  });

  it('without idempotency attached, the POST is not retried at all', async () => {
    const server = await flakyApi(story);
    const instance = client(server, { idempotency: false });
    const error = await failure(instance.post('/charges', { amount: 4_900 }, { timeout: 200 }));
    expect(error.code).toBe('ECONNABORTED');
    expect(getFailureSummary(error)).toMatchObject({ attempts: 1, reason: 'not-retryable' });
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0].idempotencyKey).toBeUndefined();
    expect(server.ledger).toHaveLength(1);
  });

  it('forcing a keyless retry (retryNonIdempotent) reproduces the double charge', async () => {
    const server = await flakyApi(story);
    const instance = client(server, { idempotency: false, retry: { retryNonIdempotent: true } });
    await instance.post('/charges', { amount: 4_900 }, { timeout: 200 });
    expect(server.ledger).toHaveLength(2);
  });
});

describe('1,000 charges through commit-then-drop and 503s', () => {
  it('makes exactly one charge per operation, each under a key of its own', async () => {
    const server = await flakyApi({ seed: 2024, firstAttemptFaults: { commitThenDrop: 0.1, status503: 0.1 } });
    const instance = client(server, {});
    const responses = await runPool(1_000, 50, (index) =>
      instance.post('/charges', { orderId: `order-${index}`, amount: 100 + index }),
    );

    expect(responses.every((response) => response.status === 200)).toBe(true);
    expect(server.stats.faults['commit-then-drop']).toBeGreaterThan(50);
    expect(server.stats.faults.status).toBeGreaterThan(50);
    expect(server.stats.replays).toBe(server.stats.faults['commit-then-drop']);

    expect(server.ledger).toHaveLength(1_000);
    const chargesPerOrder = groupBy(server.ledger, (charge) => String(charge.body.orderId));
    expect(chargesPerOrder.size).toBe(1_000);
    expect([...chargesPerOrder.values()].every((charges) => charges.length === 1)).toBe(true);

    const keysPerOrder = groupBy(server.requests, orderOf);
    for (const [, requests] of keysPerOrder) {
      expect(new Set(requests.map((request) => request.idempotencyKey)).size).toBe(1);
    }
    const ordersPerKey = groupBy(server.requests, (request) => request.idempotencyKey);
    expect(ordersPerKey.size).toBe(1_000);
    for (const [key, requests] of ordersPerKey) {
      expect(key).toBeDefined();
      expect(new Set(requests.map(orderOf)).size).toBe(1);
    }
    // Each caller was handed the charge made for its own operation.
    responses.forEach((response, index) => expect(response.data.orderId).toBe(`order-${index}`));
  });
});

describe('keys on the wire', () => {
  it('every attempt of an operation carries its key; 100 concurrent operations get 100 distinct keys', async () => {
    const server = await flakyApi({ seed: 5, firstAttemptFaults: { status503: 0.4, reset: 0.2 } });
    const instance = client(server, {});
    await Promise.all(Array.from({ length: 100 }, (_, index) => instance.post('/charges', { orderId: `o-${index}` })));
    const byOrder = groupBy(server.requests, orderOf);
    expect(byOrder.size).toBe(100);
    const retriedOperations = [...byOrder.values()].filter((requests) => requests.length > 1);
    expect(retriedOperations.length).toBeGreaterThan(20);
    const keys = [...byOrder.values()].map((requests) => {
      expect(new Set(requests.map((request) => request.idempotencyHeader)).size).toBe(1);
      return requests[0].idempotencyHeader;
    });
    expect(new Set(keys).size).toBe(100);
    expect(server.ledger).toHaveLength(100);
  });

  it("sends the caller's key as it is, from the option or the header, on every attempt", async () => {
    const server = await flakyApi({ script: [503, 503, null, 503, 503] });
    const instance = client(server, {});
    await instance.post('/charges', { orderId: 'a' }, { resilience: { idempotencyKey: 'order-a-upsell' } });
    await instance.post('/charges', { orderId: 'b' }, { headers: { 'Idempotency-Key': 'order-b-upsell' } });
    expect(server.requests.map((request) => request.idempotencyHeader)).toEqual([
      'order-a-upsell',
      'order-a-upsell',
      'order-a-upsell',
      'order-b-upsell',
      'order-b-upsell',
      'order-b-upsell',
    ]);
  });

  it('sends no key with false (and the write is then not retried)', async () => {
    const server = await flakyApi({ script: [503] });
    const instance = client(server, {});
    const error = await failure(instance.post('/charges', { orderId: 'a' }, { resilience: { idempotencyKey: false } }));
    expect(error.response?.status).toBe(503);
    expect(server.requests.map((request) => request.idempotencyHeader)).toEqual([undefined]);
  });

  it('the structured format sends a quoted sf-string the server unquotes', async () => {
    const server = await flakyApi({ script: ['commit-then-drop'] });
    const instance = client(server, { idempotency: { format: 'structured', generateKey: () => 'op-1' } });
    const response = await instance.post('/charges', { orderId: 'a' });
    expect(wasReplayed(response)).toBe(true);
    expect(server.requests.map((request) => [request.idempotencyHeader, request.idempotencyKey])).toEqual([
      ['"op-1"', 'op-1'],
      ['"op-1"', 'op-1'],
    ]);
    expect(getResilience(response.config).idempotencyKey).toBe('op-1');
    expect(server.ledger).toHaveLength(1);
  });

  it('a generator returning a bad key fails before anything reaches the server', async () => {
    const server = await flakyApi();
    const instance = client(server, { idempotency: { generateKey: () => 'x'.repeat(300) } });
    await expect(instance.post('/charges', { orderId: 'a' })).rejects.toMatchObject({
      code: 'ERR_IDEMPOTENCY_KEY_INVALID',
    });
    expect(server.requests).toHaveLength(0);
  });

  it('the reuse guard refuses a key reused for a different charge before it is sent', async () => {
    const server = await flakyApi();
    const instance = client(server, {});
    const resilience = { idempotencyKey: 'order-7' };
    await instance.post('/charges', { orderId: 'o-7', amount: 100 }, { resilience });
    await expect(instance.post('/charges', { orderId: 'o-7', amount: 250 }, { resilience })).rejects.toMatchObject({
      code: 'ERR_IDEMPOTENCY_KEY_REUSED',
    });
    expect(server.requests).toHaveLength(1);
  });
});

describe('409 and 422', () => {
  it('a 409 is retried with the same key', async () => {
    const server = await flakyApi({ script: [409] });
    const instance = client(server, {});
    const response = await instance.post('/charges', { orderId: 'a' });
    expect(response.status).toBe(200);
    expect(server.requests.map((request) => request.status)).toEqual([409, 200]);
    expect(new Set(server.requests.map((request) => request.idempotencyKey)).size).toBe(1);
  });

  it('a key still in flight: the timed-out attempt is retried through 409s until the charge replays', async () => {
    const server = await flakyApi({ processingDelayMs: 400 });
    const instance = client(server, { retry: { baseDelayMs: 50 } });
    const response = await instance.post('/charges', { orderId: 'a' }, { timeout: 100 });
    expect(wasReplayed(response)).toBe(true);
    const outcomes = server.requests.map((request) => request.outcome);
    expect(outcomes[0]).toBe('charged');
    expect(outcomes).toContain('conflict');
    expect(outcomes.at(-1)).toBe('replayed');
    expect(new Set(server.requests.map((request) => request.idempotencyKey)).size).toBe(1);
    expect(server.ledger).toHaveLength(1);
  });

  it('a 409 without a key is not retried', async () => {
    const server = await flakyApi({ script: [409] });
    const instance = client(server, {});
    const error = await failure(instance.get('/charges/ch_1'));
    expect(error.response?.status).toBe(409);
    expect(server.requests).toHaveLength(1);
  });

  it('a 422 is not retried', async () => {
    const server = await flakyApi();
    const instance = client(server, { idempotency: { guard: false } });
    const resilience = { idempotencyKey: 'order-9' };
    await instance.post('/charges', { orderId: 'o-9', amount: 100 }, { resilience });
    const error = await failure(instance.post('/charges', { orderId: 'o-9', amount: 999 }, { resilience }));
    expect(error.response?.status).toBe(422);
    expect(getFailureSummary(error)).toMatchObject({ attempts: 1, reason: 'not-retryable' });
    expect(server.requests).toHaveLength(2);
    expect(server.ledger).toHaveLength(1);
  });
});

describe('attach order', () => {
  async function wireFor(order: 'idempotency-first' | 'retry-first') {
    const server = await flakyApi({ script: [503, 'commit-then-drop', 'reset', 409, null, 502] });
    const agent = new http.Agent({ keepAlive: true });
    agents.push(agent);
    const instance: AxiosInstance = axios.create({ baseURL: server.url, httpAgent: agent });
    let counter = 0;
    const attachIdem = () => attachIdempotency(instance, { generateKey: () => `op-${(counter += 1)}` });
    const attachRet = () => attachRetry(instance, FAST_RETRY);
    if (order === 'idempotency-first') {
      attachIdem();
      attachRet();
    } else {
      attachRet();
      attachIdem();
    }
    for (const orderId of ['a', 'b', 'c']) await instance.post('/charges', { orderId });
    await instance.get('/charges/ch_1');
    return {
      wire: server.requests.map((request) => [request.method, request.url, request.idempotencyHeader, request.body]),
      ledger: server.ledger.length,
    };
  }

  it('gives the same requests on the wire whichever layer is attached first', async () => {
    const first = await wireFor('idempotency-first');
    const second = await wireFor('retry-first');
    expect(second).toEqual(first);
    expect(first.ledger).toBe(3);
    // op-1 meets 503, commit-then-drop, reset and 409 before its replay; op-2 a 502; op-3 and the read go through.
    expect(first.wire.map((request) => request[2])).toEqual([
      ...Array(5).fill('op-1'),
      'op-2',
      'op-2',
      'op-3',
      undefined,
    ]);
  });
});
