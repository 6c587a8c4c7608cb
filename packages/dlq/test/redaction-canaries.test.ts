import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import axios, { type AxiosError } from 'axios';
import type { FailureSummary } from '@axios-resilience/core';
import { attachRetry } from '@axios-resilience/retry';
import { sendJson, startTestServer, type TestServer } from '@axios-resilience/testkit';
import { attachDeadLetter, fileSink, type FileSink } from '@axios-resilience/dlq';

const CANARY = {
  authorization: 'canary-authorization-7f3a91',
  cookie: 'canary-cookie-51c2d0',
  apiKeyHeader: 'canary-x-api-key-9b8e77',
  customHeader: 'canary-custom-header-3d2f10',
  queryApiKey: 'canary-query-api-key-64aa0c',
  queryToken: 'canary-query-token-0e9d55',
  urlPassword: 'canary-url-password-c0ffee',
  setCookie: 'canary-set-cookie-a1b2c3',
};
const canaries = Object.values(CANARY);
const basicAuth = Buffer.from(`canary-user:${CANARY.urlPassword}`).toString('base64');

function expectClean(text: string, where: string): void {
  for (const canary of [...canaries, basicAuth]) {
    if (text.includes(canary)) throw new Error(`${where} contains the canary ${canary}`);
  }
}

describe('secrets never reach the sink, the record or the error', () => {
  let server: TestServer;
  let directory: string;
  let sink: FileSink;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'dlq-canary-'));
    server = await startTestServer((request, response) =>
      // The server echoes what it was sent, the way error pages sometimes do.
      sendJson(
        response,
        503,
        { error: 'unavailable', echo: request.url, auth: request.headers.authorization },
        { 'set-cookie': `sid=${CANARY.setCookie}; HttpOnly` },
      ),
    );
  });

  afterAll(async () => {
    await sink?.close();
    await server.close();
    await rm(directory, { recursive: true, force: true });
  });

  async function failedPost(url: string, headers: Record<string, string>) {
    const instance = axios.create({
      headers: { Authorization: `Bearer ${CANARY.authorization}`, 'X-Api-Key': CANARY.apiKeyHeader },
    });
    attachRetry(instance, { maxRetries: 2, baseDelayMs: 1, jitter: 'none' });
    attachDeadLetter(instance, { sink, redactHeaders: ['X-Internal-Route'] });
    return (await instance
      .post(url, { amount: 1200 }, { headers: { 'Idempotency-Key': 'order-1234-charge', ...headers } })
      .catch((caught: unknown) => caught)) as AxiosError & { resilience?: FailureSummary };
  }

  function expectCleanError(error: AxiosError & { resilience?: FailureSummary }): void {
    expectClean(JSON.stringify(error), 'JSON.stringify(error)');
    expectClean(String(error), 'String(error)');
    expectClean(error.message, 'error.message');
    expectClean(JSON.stringify(error.resilience), 'error.resilience');
  }

  beforeAll(() => {
    sink = fileSink({ path: join(directory, 'dead-letters.jsonl') });
  });

  it('in headers and query parameters', async () => {
    const url = `${server.url}/charges?currency=eur&api_key=${CANARY.queryApiKey}&token=${CANARY.queryToken}`;
    const error = await failedPost(url, {
      Cookie: `session=${CANARY.cookie}`,
      'X-Internal-Route': CANARY.customHeader,
    });

    // The request really carried the secrets, and the server echoed some back.
    const seen = server.requests[0];
    expect(seen.headers.cookie).toBe(`session=${CANARY.cookie}`);
    expect(seen.headers.authorization).toBe(`Bearer ${CANARY.authorization}`);
    expect(seen.url).toContain(CANARY.queryToken);
    expect(server.requests).toHaveLength(3);

    const [record] = await sink.list();
    expectClean(JSON.stringify(record), 'the record');
    expect(record).toMatchObject({
      attempts: 3,
      reason: 'retries-exhausted',
      idempotencyKey: 'order-1234-charge',
      url: `${server.url}/charges?currency=eur`,
      replayable: true,
    });
    expect(record.headers['idempotency-key']).toBe('order-1234-charge');
    expect([...record.redacted].sort()).toEqual(
      [
        'query:api_key',
        'query:token',
        'header:authorization',
        'header:cookie',
        'header:x-api-key',
        'header:x-internal-route',
        'response-header:set-cookie',
      ].sort(),
    );
    expect(record.error.responseBody).toContain('[REDACTED]');

    expect(error.resilience?.deadLetterId).toBe(record.id);
    expectCleanError(error);
    expect(JSON.parse(JSON.stringify(error))).toMatchObject({
      name: 'AxiosError',
      code: 'ERR_BAD_RESPONSE',
      status: 503,
      config: { method: 'post', url: `${server.url}/charges?currency=eur` },
      resilience: { deadLetterId: record.id, reason: 'retries-exhausted' },
    });

    // The caller's live config is untouched: it can still be inspected or re-sent as it was.
    expect(error.config?.headers?.Cookie).toBe(`session=${CANARY.cookie}`);
    expect(error.config?.headers?.Authorization).toBe(`Bearer ${CANARY.authorization}`);
    expect(error.config?.url).toBe(url);
    expect(inspect(error.config)).toContain(CANARY.customHeader);
  });

  it('in the URL (user:pass@host), which the server sees as Basic credentials', async () => {
    const base = server.url.replace('http://', `http://canary-user:${CANARY.urlPassword}@`);
    const error = await failedPost(`${base}/refunds`, {});
    expect(server.requests[server.requests.length - 1].headers.authorization).toBe(`Basic ${basicAuth}`);

    const record = (await sink.list())[1];
    expect(record.url).toBe(`${server.url}/refunds`);
    expect(record.redacted).toEqual(expect.arrayContaining(['url:credentials']));
    expectClean(JSON.stringify(record), 'the record');
    expectCleanError(error);
    expect(error.config?.url).toBe(`${base}/refunds`);
  });

  it('leaves the file without any of them', async () => {
    expect(await sink.size()).toBe(2);
    const fileBytes = await readFile(join(directory, 'dead-letters.jsonl'));
    expectClean(fileBytes.toString('utf8'), 'the file');
    expectClean(fileBytes.toString('latin1'), 'the file');
  });
});
