import axios from 'axios';
import { attachRetry } from '@axios-resilience/retry';
import { getFailureSummary, type Clock } from '@axios-resilience/core';
import { sendJson, startTestServer, type TestServer } from '@axios-resilience/testkit';

/** Keeps every default but makes waits pass at once, so the default schedule runs in milliseconds. */
const instantClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback) => setImmediate(callback),
  clearTimeout: (handle) => clearImmediate(handle as NodeJS.Immediate),
};

let server: TestServer;
beforeEach(async () => {
  server = await startTestServer();
});
afterEach(() => server.close());

function client(options: Parameters<typeof attachRetry>[1] = {}) {
  const instance = axios.create({ baseURL: server.url });
  attachRetry(instance, { clock: instantClock, ...options });
  return instance;
}

describe('against a real loopback server', () => {
  it.each([408, 429, 500, 502, 503, 504])('retries %i', async (status) => {
    server.setHandler((request, response) =>
      server.requests.length === 1
        ? sendJson(response, status, { error: 'transient' })
        : sendJson(response, 200, { ok: 1 }),
    );
    const response = await client().get('/thing');
    expect(response.status).toBe(200);
    expect(server.requests).toHaveLength(2);
  });

  it.each([400, 401, 403, 404, 422])('sends exactly one request on %i', async (status) => {
    server.setHandler((_request, response) => sendJson(response, status, { error: 'permanent' }));
    const error = await client()
      .get('/thing')
      .catch((caught: unknown) => caught);
    expect(axios.isAxiosError(error)).toBe(true);
    expect(server.requests).toHaveLength(1);
    expect(getFailureSummary(error)).toMatchObject({ attempts: 1, reason: 'not-retryable' });
  });

  it('a persistently failing GET makes exactly 6 requests with the defaults, then rejects with the last AxiosError', async () => {
    server.setHandler((request, response) => sendJson(response, 503, { n: server.requests.length }));
    const error = await client()
      .get('/down')
      .catch((caught: unknown) => caught);
    expect(server.requests).toHaveLength(6);
    expect(axios.isAxiosError(error)).toBe(true);
    if (!axios.isAxiosError(error)) throw error;
    expect(error.response?.data).toEqual({ n: 6 });
    expect(getFailureSummary(error)).toMatchObject({ attempts: 6, reason: 'retries-exhausted' });
    // The summary survives serialisation, unlike most retry plugins' state.
    expect(JSON.parse(JSON.stringify({ resilience: getFailureSummary(error) })).resilience.attempts).toBe(6);
  });

  it('does not retry a keyless POST on 503; retries a keyed one with the same key and byte-identical body', async () => {
    server.setHandler((request, response) => sendJson(response, 503, {}));
    const body = { amount: 4200, currency: 'usd', note: 'ünïcode ✓', nested: { a: [1, 2, 3] } };
    await client()
      .post('/charges', body)
      .catch(() => undefined);
    expect(server.requests).toHaveLength(1);

    server.requests.length = 0;
    server.setHandler((request, response) =>
      server.requests.length < 3 ? sendJson(response, 503, {}) : sendJson(response, 200, { id: 'ch_1' }),
    );
    const response = await client().post('/charges', body, { headers: { 'Idempotency-Key': 'op-123' } });
    expect(response.data).toEqual({ id: 'ch_1' });
    expect(server.requests).toHaveLength(3);
    const first = server.requests[0];
    for (const attempt of server.requests) {
      expect(attempt.headers['idempotency-key']).toBe('op-123');
      expect(attempt.body.equals(first.body)).toBe(true);
      expect(attempt.headers['content-type']).toBe(first.headers['content-type']);
    }
    expect(JSON.parse(first.body.toString('utf8'))).toEqual(body);
  });

  it('retries a GET after a connection reset', async () => {
    server.setHandler((request, response, raw) => {
      if (server.requests.length === 1) raw.socket.destroy();
      else sendJson(response, 200, { ok: true });
    });
    const response = await client().get('/flaky');
    expect(response.status).toBe(200);
    expect(server.requests).toHaveLength(2);
  });

  it('retries a GET after an axios timeout, each attempt getting the full timeout', async () => {
    server.setHandler((request, response) => {
      const delay = server.requests.length === 1 ? 400 : 10;
      setTimeout(() => sendJson(response, 200, { attempt: server.requests.length }), delay);
    });
    const instance = client();
    const response = await instance.get('/slow', { timeout: 150 });
    expect(response.status).toBe(200);
    expect(server.requests).toHaveLength(2);
  });

  it('the retry budget holds 200 concurrent failing requests to ratio 0.2 plus the per-second floor', async () => {
    server.setHandler((_request, response) => sendJson(response, 503, {}));
    const instance = client({ baseDelayMs: 20, jitter: 'full' });
    const startedAt = Date.now();
    const outcomes = await Promise.allSettled(Array.from({ length: 200 }, (_, index) => instance.get(`/r/${index}`)));
    const elapsedSeconds = (Date.now() - startedAt) / 1000;
    const retries = server.requests.length - 200;
    // 10 tokens to start, 0.2 per first attempt, 10 more per second elapsed.
    const allowed = 10 + 200 * 0.2 + 10 * elapsedSeconds;
    expect(retries).toBeLessThanOrEqual(Math.ceil(allowed));
    expect(retries).toBeGreaterThan(0);
    const reasons = outcomes.map((outcome) =>
      outcome.status === 'rejected' ? getFailureSummary(outcome.reason)?.reason : 'fulfilled',
    );
    expect(reasons.filter((reason) => reason === 'budget-exhausted').length).toBeGreaterThan(100);
    // Without the budget the same run makes 1,000 retries.
    server.requests.length = 0;
    const unbudgeted = client({ baseDelayMs: 20, jitter: 'full', retryBudget: false });
    await Promise.allSettled(Array.from({ length: 200 }, (_, index) => unbudgeted.get(`/r/${index}`)));
    expect(server.requests.length - 200).toBe(1000);
  });
});
