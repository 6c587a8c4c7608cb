import axios, { type AxiosInstance } from 'axios';
import { sendJson, startTestServer, type TestServer } from '@axios-resilience/testkit';
import {
  attachDeadLetter,
  memorySink,
  replay,
  replayRequest,
  type DeadLetterRecord,
  type MemorySink,
  type ReplayProgress,
} from '@axios-resilience/dlq';
import { makeRecord } from './records';

let server: TestServer;
let failing = true;

beforeAll(async () => {
  server = await startTestServer((request, response) => {
    if (failing) sendJson(response, 503, { error: 'down' });
    else sendJson(response, 200, { ok: true, url: request.url });
  });
});

afterAll(async () => {
  await server.close();
});

beforeEach(() => {
  failing = true;
  server.requests.length = 0;
});

/** Sends through an instance with the dead-letter layer while the server fails, and returns the record. */
async function deadLetterOne(
  send: (instance: AxiosInstance) => Promise<unknown>,
  sink: MemorySink,
): Promise<DeadLetterRecord> {
  const instance = axios.create({ baseURL: server.url, headers: { Authorization: 'Bearer old-token-123456' } });
  attachDeadLetter(instance, { sink });
  const before = await sink.size();
  await send(instance).then(
    () => {
      throw new Error('expected a failure');
    },
    () => undefined,
  );
  const records = await sink.list();
  expect(records).toHaveLength(before + 1);
  return records[records.length - 1];
}

describe('replay sends the recorded request again, byte for byte', () => {
  it.each([
    ['a JSON object', (i: AxiosInstance) => i.post('/charges', { amount: 1200, note: 'café ☃' })],
    [
      'JSON text with spaces around it',
      (i: AxiosInstance) =>
        i.post('/charges', '  {"amount": 1}  ', { headers: { 'Content-Type': 'application/json' } }),
    ],
    [
      'text that is not JSON under a JSON content type',
      (i: AxiosInstance) => i.post('/charges', 'not json', { headers: { 'Content-Type': 'application/json' } }),
    ],
    [
      'invalid JSON sent raw by a custom transformRequest',
      (i: AxiosInstance) =>
        i.post('/charges', ' not json ', {
          headers: { 'Content-Type': 'application/json' },
          transformRequest: [(data: unknown) => data],
        }),
    ],
    ['a form', (i: AxiosInstance) => i.post('/charges', new URLSearchParams({ amount: '5', currency: 'eur' }))],
    [
      'bytes',
      (i: AxiosInstance) =>
        i.put('/blobs/1', Buffer.from([0, 255, 1, 254, 10, 13]), {
          headers: { 'Content-Type': 'application/octet-stream' },
        }),
    ],
    [
      'plain text',
      (i: AxiosInstance) => i.patch('/notes/1', 'línea\r\n☃', { headers: { 'Content-Type': 'text/plain' } }),
    ],
    ['no body', (i: AxiosInstance) => i.delete('/charges/1', { headers: { 'Idempotency-Key': 'del-1' } })],
  ])('%s', async (_name, send) => {
    const sink = memorySink();
    const record = await deadLetterOne(send, sink);
    const original = server.requests[server.requests.length - 1];

    failing = false;
    const fresh = axios.create({ headers: { Authorization: 'Bearer new-token-654321' } });
    const summary = await replay({ instance: fresh, sink });
    expect(summary).toMatchObject({ attempted: 1, succeeded: 1, failed: 0, skipped: 0 });
    expect(summary.results).toEqual([{ id: record.id, outcome: 'succeeded', status: 200 }]);

    const replayed = server.requests[server.requests.length - 1];
    expect(replayed.method).toBe(original.method);
    expect(replayed.url).toBe(original.url);
    expect(replayed.body.equals(original.body)).toBe(true);
    expect(replayed.headers['content-type']).toBe(original.headers['content-type']);
    expect(replayed.headers['idempotency-key']).toBe(original.headers['idempotency-key']);
    expect(replayed.headers.authorization).toBe('Bearer new-token-654321');
    expect(await sink.size()).toBe(0);
  });
});

describe('replay bookkeeping', () => {
  it('updates the same record on failure, and never lets a failing replay make a second one', async () => {
    const sink = memorySink();
    const record = await deadLetterOne(
      (i) => i.post('/charges', { amount: 1 }, { headers: { 'Idempotency-Key': 'k-9' } }),
      sink,
    );
    const instance = axios.create();
    attachDeadLetter(instance, { sink });
    const at = Date.parse(record.createdAt) + 1_000;

    const first = await replay({ instance, sink, clock: { now: () => at, setTimeout, clearTimeout } });
    expect(first).toMatchObject({ attempted: 1, succeeded: 0, failed: 1, skipped: 0 });
    expect(first.results[0]).toMatchObject({ id: record.id, outcome: 'failed', status: 503 });
    await replay({ instance, sink });

    const stored = await sink.list();
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ id: record.id, replays: 2, body: record.body });
    expect(stored[0].lastReplay).toMatchObject({ status: 503, code: 'ERR_BAD_RESPONSE' });
    expect(first.results[0].error).toBe('Request failed with status code 503');
  });

  it('refuses old, unreplayable and over-replayed records unless forced; reports unknown ids', async () => {
    const sink = memorySink();
    const now = Date.parse('2026-03-01T12:00:00.000Z');
    const iso = (offsetMs: number) => new Date(now - offsetMs).toISOString();
    const url = `${server.url}/charges`;
    const fresh = makeRecord({ id: 'a-fresh', url, createdAt: iso(60_000), firstAttemptAt: iso(61_000) });
    const old = makeRecord({ id: 'b-old', url, createdAt: iso(1_000), firstAttemptAt: iso(25 * 3_600_000) });
    const truncated = makeRecord({
      id: 'c-truncated',
      url,
      createdAt: iso(1_000),
      firstAttemptAt: null,
      replayable: false,
    });
    const tired = makeRecord({ id: 'd-tired', url, createdAt: iso(1_000), firstAttemptAt: null, replays: 3 });
    for (const record of [fresh, old, truncated, tired]) await sink.put(record);
    const clock = { now: () => now, setTimeout, clearTimeout };
    const instance = axios.create();

    const dry = await replay({
      instance,
      sink,
      clock,
      maxReplays: 3,
      dryRun: true,
      ids: ['a-fresh', 'b-old', 'c-truncated', 'd-tired', 'zz'],
    });
    expect(dry.results).toEqual([
      { id: 'a-fresh', outcome: 'dry-run' },
      { id: 'b-old', outcome: 'skipped', reason: 'too-old' },
      { id: 'c-truncated', outcome: 'skipped', reason: 'not-replayable' },
      { id: 'd-tired', outcome: 'skipped', reason: 'max-replays' },
      { id: 'zz', outcome: 'skipped', reason: 'not-found' },
    ]);
    expect(dry).toMatchObject({ attempted: 1, succeeded: 0, failed: 0, skipped: 4 });
    expect(server.requests).toHaveLength(0);
    expect(await sink.size()).toBe(4);

    failing = false;
    const shorter = await replay({ instance, sink, clock, maxAgeMs: 30_000 });
    expect(shorter.results.map((result) => result.reason ?? result.outcome)).toEqual([
      'too-old',
      'too-old',
      'not-replayable',
      'succeeded',
    ]);
    const forced = await replay({ instance, sink, clock, force: true });
    expect(forced).toMatchObject({ attempted: 3, succeeded: 3, skipped: 0 });
    expect(await sink.size()).toBe(0);
  });

  it('keeps to the concurrency limit and reports progress for every record', async () => {
    const sink = memorySink();
    for (let index = 0; index < 20; index += 1) await sink.put(makeRecord({ url: `${server.url}/slow/${index}` }));
    let inFlight = 0;
    let peak = 0;
    server.setHandler(async (_request, response) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 20));
      inFlight -= 1;
      sendJson(response, 200, {});
    });
    const progress: ReplayProgress[] = [];
    try {
      const summary = await replay({
        instance: axios.create(),
        sink,
        concurrency: 4,
        limit: 12,
        onProgress: (state) => progress.push(state),
      });
      expect(summary).toMatchObject({ attempted: 12, succeeded: 12 });
    } finally {
      server.setHandler((_request, response) => sendJson(response, failing ? 503 : 200, {}));
    }
    expect(peak).toBe(4);
    expect(progress.map((state) => state.done)).toEqual(Array.from({ length: 12 }, (_, index) => index + 1));
    expect(progress.every((state) => state.total === 12)).toBe(true);
    expect(await sink.size()).toBe(8);
  });

  it('builds the request from the record: exact body, original key, no second record', () => {
    const record = makeRecord({
      headers: { 'content-type': 'text/plain' },
      body: 'AAEC',
      bodyEncoding: 'base64',
      idempotencyKey: 'k-1',
    });
    const config = replayRequest(record);
    expect(config).toMatchObject({
      method: 'POST',
      url: record.url,
      headers: { 'content-type': 'text/plain', 'idempotency-key': 'k-1' },
      resilience: { deadLetter: false, idempotencyKey: 'k-1' },
    });
    expect(Buffer.from(config.data as ArrayBuffer)).toEqual(Buffer.from([0, 1, 2]));
    const transform = (config.transformRequest as Array<(data: unknown) => unknown>)[0];
    expect(transform('  {"x": 1}  ')).toBe('  {"x": 1}  ');
  });

  it('validates its options', async () => {
    const sink = memorySink();
    const instance = axios.create();
    await expect(replay({ instance, sink, concurrency: 0 })).rejects.toThrow(/replay\.concurrency/);
    await expect(replay({ instance: {} as AxiosInstance, sink })).rejects.toThrow(/replay\.instance/);
    await expect(replay({ instance, sink: {} as never })).rejects.toThrow(/replay\.sink/);
    await expect(replay({ instance, sink, ids: [''] })).rejects.toThrow(/replay\.ids\[0\]/);
    await expect(replay({ instance, sink, maxAge: 1 } as never)).rejects.toThrow(/maxAge: unknown option/);
  });
});
