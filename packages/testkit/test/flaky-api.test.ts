import http from 'node:http';
import axios, { type AxiosError, type AxiosInstance } from 'axios';
import { seededRandom, startFlakyApi, type FlakyApi, type FlakyApiOptions } from '../src';

let api: FlakyApi | undefined;
let agent: http.Agent | undefined;

async function start(options?: FlakyApiOptions): Promise<{ api: FlakyApi; client: AxiosInstance }> {
  api = await startFlakyApi(options);
  agent = new http.Agent({ keepAlive: true });
  const client = axios.create({ baseURL: api.url, httpAgent: agent, validateStatus: () => true });
  return { api, client };
}

afterEach(async () => {
  agent?.destroy();
  agent = undefined;
  await api?.close();
  api = undefined;
});

async function failure(promise: Promise<unknown>): Promise<AxiosError> {
  try {
    await promise;
  } catch (error) {
    if (axios.isAxiosError(error)) return error;
    throw error;
  }
  throw new Error('expected the request to fail');
}

const key = (value: string) => ({ headers: { 'Idempotency-Key': value } });

describe('startFlakyApi: the payments API', () => {
  it('answers /health, makes charges, and serves them back by id', async () => {
    const { api, client } = await start();
    expect((await client.get('/health')).data).toEqual({ ok: true });
    const created = await client.post('/charges', { amount: 4200, currency: 'usd', orderId: 'o-1' });
    expect(created.status).toBe(200);
    expect(created.data).toMatchObject({ id: 'ch_1', object: 'charge', amount: 4200, orderId: 'o-1' });
    const fetched = await client.get(`/charges/${created.data.id}`);
    expect(fetched.data).toEqual(created.data);
    expect((await client.get('/charges/ch_404')).status).toBe(404);
    expect((await client.put('/charges/ch_1', {})).status).toBe(404);
    expect(api.ledger).toHaveLength(1);
    expect(api.ledger[0]).toMatchObject({ id: 'ch_1', idempotencyKey: undefined, body: { orderId: 'o-1' } });
  });

  it('charges again for every request without a key: the double charge', async () => {
    const { api, client } = await start();
    await client.post('/charges', { amount: 100 });
    await client.post('/charges', { amount: 100 });
    expect(api.ledger).toHaveLength(2);
    expect(api.chargesByKey().size).toBe(0);
  });

  it('replays the saved answer for a key, marked Idempotent-Replayed, without charging again', async () => {
    const { api, client } = await start();
    const first = await client.post('/charges', { amount: 100 }, key('k-1'));
    const again = await client.post('/charges', { amount: 100 }, key('k-1'));
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.status).toBe(first.status);
    expect(again.data).toEqual(first.data);
    expect(api.ledger).toHaveLength(1);
    expect(api.chargesByKey().get('k-1')).toHaveLength(1);
    expect(api.stats).toMatchObject({ charges: 1, replays: 1 });
  });

  it('accepts the key raw or as an sf-string', async () => {
    const { api, client } = await start();
    await client.post('/charges', { amount: 100 }, key('"k-1"'));
    const again = await client.post('/charges', { amount: 100 }, key('k-1'));
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(api.requests.map((request) => [request.idempotencyHeader, request.idempotencyKey])).toEqual([
      ['"k-1"', 'k-1'],
      ['k-1', 'k-1'],
    ]);
  });

  it('answers 422 when a key comes back with a different body', async () => {
    const { api, client } = await start();
    await client.post('/charges', { amount: 100 }, key('k-1'));
    const reused = await client.post('/charges', { amount: 999 }, key('k-1'));
    expect(reused.status).toBe(422);
    expect(api.ledger).toHaveLength(1);
    expect(api.stats.mismatches).toBe(1);
  });

  it('answers 409 while the first request with a key is in flight, then replays', async () => {
    const { api, client } = await start({ processingDelayMs: 300 });
    const first = client.post('/charges', { amount: 100 }, key('k-1'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = await client.post('/charges', { amount: 100 }, key('k-1'));
    expect(second.status).toBe(409);
    expect((await first).status).toBe(200);
    const third = await client.post('/charges', { amount: 100 }, key('k-1'));
    expect(third.headers['idempotent-replayed']).toBe('true');
    expect(api.ledger).toHaveLength(1);
    expect(api.stats.conflicts).toBe(1);
  });

  it('reads form-encoded bodies, refuses others, and can require a key', async () => {
    const { api, client } = await start({ requireIdempotencyKey: true });
    const form = new URLSearchParams({ amount: '100', customer: 'cus_1' });
    expect((await client.post('/charges', form, key('k-1'))).data).toMatchObject({ amount: '100', customer: 'cus_1' });
    expect(
      (
        await client.post('/charges', '[1,2]', {
          ...key('k-2'),
          headers: { ...key('k-2').headers, 'content-type': 'application/json' },
        })
      ).status,
    ).toBe(400);
    expect((await client.post('/charges', { amount: 100 })).status).toBe(400);
    expect(api.ledger).toHaveLength(1);
  });
});

describe('startFlakyApi: faults', () => {
  it('plays a script for the first requests: statuses, a reset, then normal service', async () => {
    const { api, client } = await start({
      script: [503, { kind: 'status', status: 429, retryAfterMs: 1500 }, 'reset', null],
    });
    const unavailable = await client.post('/charges', { amount: 1 });
    const limited = await client.post('/charges', { amount: 1 });
    const reset = await failure(client.post('/charges', { amount: 1 }));
    const fine = await client.post('/charges', { amount: 1 });
    expect(unavailable.status).toBe(503);
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('2');
    expect(limited.headers['retry-after-ms']).toBe('1500');
    expect(reset.code).toBe('ECONNRESET');
    expect(fine.status).toBe(200);
    expect(api.ledger).toHaveLength(1);
    expect(api.stats.faults).toMatchObject({ status: 2, reset: 1 });
    expect(api.stats.byStatus).toEqual({ 200: 1, 429: 1, 503: 1 });
    expect(api.requests.map((request) => request.fault)).toEqual(['status', 'status', 'reset', undefined]);
  });

  it('never faults or limits /health', async () => {
    const { api, client } = await start({
      script: [503],
      faults: { status500: 1 },
      rateLimit: { limit: 1, windowMs: 60_000 },
    });
    for (let index = 0; index < 3; index += 1) expect((await client.get('/health')).status).toBe(200);
    expect(api.stats.faults.status).toBe(0);
  });

  it('commit-then-drop makes the charge and destroys the connection; the key then replays it', async () => {
    const { api, client } = await start({ script: ['commit-then-drop'] });
    const dropped = await failure(client.post('/charges', { amount: 4200 }, key('k-1')));
    expect(dropped.code).toBe('ECONNRESET');
    expect(api.ledger).toHaveLength(1);
    const retried = await client.post('/charges', { amount: 4200 }, key('k-1'));
    expect(retried.headers['idempotent-replayed']).toBe('true');
    expect(retried.data.id).toBe(api.ledger[0].id);
    expect(api.ledger).toHaveLength(1);
    expect(api.stats).toMatchObject({ dropped: 1, faults: { 'commit-then-drop': 1 } });
  });

  it('commit-then-delay makes the charge and answers only after the client timed out', async () => {
    const { api, client } = await start({ script: [{ kind: 'commit-then-delay', ms: 2_000 }] });
    const timedOut = await failure(client.post('/charges', { amount: 4200 }, { ...key('k-1'), timeout: 200 }));
    expect(timedOut.code).toBe('ECONNABORTED');
    expect(api.ledger).toHaveLength(1);
    expect(api.requests[0]).toMatchObject({ fault: 'commit-then-delay', outcome: 'charged' });
    // close() cuts the held answer short: it is never written and no timer is left behind.
    await api.close();
    expect(api.requests[0].status).toBeUndefined();
    expect(api.stats.byStatus).toEqual({});
  });

  it('a delay fault slows the answer but still serves it', async () => {
    const { api, client } = await start({ script: [{ kind: 'delay', ms: 100 }] });
    const response = await client.post('/charges', { amount: 1 });
    expect(response.status).toBe(200);
    expect(api.stats.faults.delay).toBe(1);
  });

  it('schedule() appends faults for the next requests', async () => {
    const { client, api } = await start();
    expect((await client.post('/charges', { amount: 1 })).status).toBe(200);
    api.schedule(502, null, 504);
    const statuses = [];
    for (let index = 0; index < 4; index += 1) statuses.push((await client.post('/charges', { amount: 1 })).status);
    expect(statuses).toEqual([502, 200, 504, 200]);
  });

  it('draws random faults from the seed: same seed, same schedule; another seed, another', async () => {
    async function faultsFor(seed: number): Promise<(string | undefined)[]> {
      const { api: server, client } = await start({ seed, faults: { status503: 0.2, status500: 0.1, reset: 0.1 } });
      for (let index = 0; index < 60; index += 1) await client.get('/charges/ch_1').catch(() => undefined);
      const kinds = server.requests.map((request) =>
        request.fault === 'status' ? String(request.status) : request.fault,
      );
      agent?.destroy();
      await server.close();
      api = undefined;
      return kinds;
    }
    const first = await faultsFor(7);
    const again = await faultsFor(7);
    const other = await faultsFor(8);
    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
    const injected = first.filter((kind) => kind !== undefined).length;
    expect(injected).toBeGreaterThan(5);
    expect(injected).toBeLessThan(45);
  });

  it('firstAttemptFaults hit only the first request of a key, and every keyless one', async () => {
    const { api, client } = await start({ firstAttemptFaults: { status503: 1 } });
    expect((await client.post('/charges', { amount: 1 }, key('k-1'))).status).toBe(503);
    expect((await client.post('/charges', { amount: 1 }, key('k-1'))).status).toBe(200);
    expect((await client.post('/charges', { amount: 1 })).status).toBe(503);
    expect((await client.post('/charges', { amount: 1 })).status).toBe(503);
    expect(api.ledger).toHaveLength(1);
  });

  it('refuses bad options with a TypeError', async () => {
    await expect(startFlakyApi({ faults: { status503: 0.7, reset: 0.5 } })).rejects.toThrow(
      /faults: expected rates summing to at most 1/,
    );
    await expect(startFlakyApi({ faults: { status418: 0.1 } as never })).rejects.toThrow(TypeError);
    await expect(startFlakyApi({ script: [42] })).rejects.toThrow(/script\[0\]: expected an HTTP status/);
    await expect(startFlakyApi({ rateLimit: { limit: 0, windowMs: 10 } })).rejects.toThrow(/rateLimit.limit/);
    await expect(startFlakyApi({ processingDelayMs: -1 })).rejects.toThrow(/processingDelayMs/);
  });
});

describe('startFlakyApi: rate limit', () => {
  it('answers 429 with Retry-After once the sliding window is full, counting rejected requests too', async () => {
    const { api, client } = await start({ rateLimit: { limit: 5, windowMs: 10_000, quotaHeaders: true } });
    const responses = [];
    for (let index = 0; index < 8; index += 1) responses.push(await client.post('/charges', { amount: 1 }));
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    expect(responses[0].headers['x-ratelimit-remaining']).toBe('4');
    expect(responses[4].headers['x-ratelimit-remaining']).toBe('0');
    const limited = responses[5];
    const retryAfterMs = Number(limited.headers['retry-after-ms']);
    expect(retryAfterMs).toBeGreaterThan(9_000);
    expect(retryAfterMs).toBeLessThanOrEqual(10_000);
    expect(limited.headers['retry-after']).toBe('10');
    expect(api.stats).toMatchObject({ rateLimited: 3, maxInWindow: 8, charges: 5 });
    expect(api.requests[5].outcome).toBe('rate-limited');
  });

  it('lets a sliding window refill as requests age out', async () => {
    const { api, client } = await start({ rateLimit: { limit: 2, windowMs: 300, retryAfterMs: false } });
    expect((await client.get('/charges/ch_1')).status).toBe(404);
    expect((await client.get('/charges/ch_1')).status).toBe(404);
    const limited = await client.get('/charges/ch_1');
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after-ms']).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await client.get('/charges/ch_1')).status).toBe(404);
    expect(api.stats.maxInWindow).toBe(3);
  });

  it('uses epoch-aligned windows with the fixed algorithm', async () => {
    const windowMs = 3_600_000;
    const { api, client } = await start({ rateLimit: { limit: 3, windowMs, algorithm: 'fixed' } });
    const statuses = [];
    for (let index = 0; index < 5; index += 1) statuses.push((await client.get('/charges/ch_1')).status);
    expect(statuses).toEqual([404, 404, 404, 429, 429]);
    const last = api.requests[4].receivedAt;
    const untilBoundary = Math.floor(last / windowMs) * windowMs + windowMs - last;
    const limited = await client.get('/charges/ch_1');
    expect(Math.abs(Number(limited.headers['retry-after-ms']) - untilBoundary)).toBeLessThan(1_000);
    expect(api.stats).toMatchObject({ rateLimited: 3, maxInWindow: 6 });
  });
});

describe('seededRandom', () => {
  it('repeats for a seed and stays in [0, 1)', () => {
    const first = seededRandom(42);
    const second = seededRandom(42);
    const values = Array.from({ length: 1_000 }, () => first());
    expect(Array.from({ length: 1_000 }, () => second())).toEqual(values);
    expect(values.every((value) => value >= 0 && value < 1)).toBe(true);
    const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
    expect(seededRandom(43)()).not.toBe(seededRandom(42)());
    expect(() => seededRandom(Number.NaN)).toThrow(TypeError);
  });
});
