import { Readable } from 'node:stream';
import axios, { AxiosError, type AxiosInstance } from 'axios';
import {
  RESPONSE_STAGE,
  RateLimitedError,
  getFailureSummary,
  registerLayer,
  type FailureSummary,
} from '@axios-resilience/core';
import { stubAdapter, type StubHandler } from '@axios-resilience/testkit';
import {
  attachDeadLetter,
  createDeadLetterInterceptors,
  memorySink,
  type DeadLetterOptions,
  type DeadLetterRecord,
  type MemorySink,
} from '@axios-resilience/dlq';

const always =
  (status: number, data: unknown = { error: 'nope' }): StubHandler =>
  () => ({ status, data, headers: { 'content-type': 'application/json' } });

function setup(handler: StubHandler = always(503), options: DeadLetterOptions = {}) {
  const sink = memorySink();
  const adapter = stubAdapter(handler);
  const instance = axios.create({ baseURL: 'https://api.example.test/v1', adapter });
  const attachment = attachDeadLetter(instance, { sink, ...options });
  return { sink, adapter, instance, attachment };
}

async function failure(promise: Promise<unknown>): Promise<AxiosError & { resilience?: FailureSummary }> {
  try {
    await promise;
  } catch (error) {
    return error as AxiosError & { resilience?: FailureSummary };
  }
  throw new Error('expected the request to fail');
}

async function onlyRecord(sink: MemorySink): Promise<DeadLetterRecord> {
  const records = await sink.list();
  expect(records).toHaveLength(1);
  return records[0];
}

describe('attachDeadLetter: what is recorded', () => {
  it('records a failed write once, and hands back the original error with the record id', async () => {
    const { sink, instance, adapter } = setup();
    const error = await failure(instance.post('/charges', { amount: 1200 }));
    expect(axios.isAxiosError(error)).toBe(true);
    expect(error.response?.status).toBe(503);
    expect(error.config).toBe(adapter.calls[0]);
    const record = await onlyRecord(sink);
    expect(error.resilience).toMatchObject({ attempts: 1, reason: 'not-retryable', deadLetterId: record.id });
  });

  it('writes the record in a stable, documented shape', async () => {
    const clock = { now: () => Date.parse('2026-01-02T03:04:05.678Z'), setTimeout, clearTimeout };
    const { sink, instance } = setup(always(503, '{"error":"down"}'), { clock, generateId: () => 'fixed-id' });
    await failure(
      instance.post('/charges', { amount: 1200 }, { headers: { 'Idempotency-Key': 'key-123', 'X-Trace': 't-1' } }),
    );
    const record = await onlyRecord(sink);
    expect(Object.keys(record)).toEqual([
      'version',
      'id',
      'createdAt',
      'method',
      'url',
      'headers',
      'body',
      'bodyEncoding',
      'idempotencyKey',
      'attempts',
      'firstAttemptAt',
      'lastAttemptAt',
      'reason',
      'error',
      'replayable',
      'redacted',
      'replays',
      'lastReplay',
    ]);
    expect(record).toMatchObject({
      version: 1,
      id: 'fixed-id',
      createdAt: '2026-01-02T03:04:05.678Z',
      method: 'POST',
      url: 'https://api.example.test/v1/charges',
      body: '{"amount":1200}',
      bodyEncoding: 'utf8',
      idempotencyKey: 'key-123',
      attempts: 1,
      reason: 'not-retryable',
      error: {
        code: 'ERR_BAD_RESPONSE',
        message: 'Request failed with status code 503',
        status: 503,
        responseHeaders: { 'content-type': 'application/json' },
        responseBody: '{"error":"down"}',
      },
      replayable: true,
      redacted: [],
      replays: 0,
      lastReplay: null,
    });
    expect(record.headers).toMatchObject({
      'content-type': 'application/json',
      'idempotency-key': 'key-123',
      'x-trace': 't-1',
    });
    expect(Object.keys(record.error)).toEqual(['code', 'message', 'status', 'responseHeaders', 'responseBody']);
    expect(record.firstAttemptAt).toBe('2026-01-02T03:04:05.678Z');
  });

  it('skips reads by default and a caller cancellation always', async () => {
    const { sink, instance } = setup();
    const readError = await failure(instance.get('/charges/1'));
    expect(readError.resilience).toMatchObject({ attempts: 1, reason: 'not-retryable' });
    expect(readError.resilience?.deadLetterId).toBeUndefined();

    const controller = new AbortController();
    controller.abort();
    const canceled = await failure(instance.post('/charges', { amount: 1 }, { signal: controller.signal }));
    expect(axios.isCancel(canceled)).toBe(true);
    expect(getFailureSummary(canceled)).toBeUndefined();
    expect(await sink.size()).toBe(0);
  });

  it('lets methods, filter and the per-request flag decide, in that order of precedence', async () => {
    const onSinkError = jest.fn();
    const filter = jest.fn((error: unknown) => {
      const url = (error as AxiosError).config?.url ?? '';
      if (url.includes('yes')) return true;
      if (url.includes('no')) return false;
      if (url.includes('boom')) throw new Error('filter broke');
      return undefined;
    });
    const { sink, instance } = setup(always(500), { methods: ['PUT'], filter, onSinkError });
    await failure(instance.get('/yes'));
    await failure(instance.put('/no'));
    await failure(instance.put('/default'));
    await failure(instance.post('/default'));
    await failure(instance.put('/boom'));
    await failure(instance.get('/no', { resilience: { deadLetter: true } }));
    await failure(instance.put('/yes', {}, { resilience: { deadLetter: false } }));
    const urls = (await sink.list()).map((record) => `${record.method} ${new URL(record.url).pathname}`);
    expect(urls).toEqual(['GET /v1/yes', 'PUT /v1/default', 'PUT /v1/boom', 'GET /v1/no']);
    expect(onSinkError).toHaveBeenCalledTimes(1);
    expect(onSinkError.mock.calls[0][0]).toMatchObject({ during: 'filter' });
  });

  it('records once however many times a nested re-send passes the final error through the stage', async () => {
    const { sink, instance } = setup();
    // A stand-in for retry: re-send through the whole chain, nested, three times.
    registerLayer(instance, {
      name: 're-send',
      responseStage: RESPONSE_STAGE.retry,
      onResponseError: (error) => {
        const config = (error as AxiosError).config!;
        if ((config.resilience?.attempt ?? 1) < 3) return instance.request(config);
        throw error;
      },
    });
    const error = await failure(instance.post('/charges', { amount: 5 }));
    const record = await onlyRecord(sink);
    expect(record.attempts).toBe(3);
    expect(error.resilience?.deadLetterId).toBe(record.id);
  });

  it('keeps a summary retry set, and makes one for a failure retry never judged', async () => {
    const { sink, instance } = setup();
    registerLayer(instance, {
      name: 'judge',
      responseStage: RESPONSE_STAGE.retry,
      onResponseError: (error) => {
        Object.assign(error as object, {
          resilience: { attempts: 4, totalDelayMs: 1500, reason: 'deadline-exceeded' },
        });
        throw error;
      },
    });
    const error = await failure(instance.delete('/charges/1'));
    expect(error.resilience).toMatchObject({ attempts: 4, totalDelayMs: 1500, reason: 'deadline-exceeded' });
    expect(await onlyRecord(sink)).toMatchObject({ attempts: 4, reason: 'deadline-exceeded' });
  });

  it('calls onDeadLetter with the record, and survives it throwing', async () => {
    const onSinkError = jest.fn();
    const onDeadLetter = jest.fn(() => {
      throw new Error('alerting broke');
    });
    const { sink, instance } = setup(always(422), { onDeadLetter, onSinkError });
    const error = await failure(instance.patch('/charges/1', { amount: 2 }));
    const record = await onlyRecord(sink);
    expect(onDeadLetter).toHaveBeenCalledWith(record);
    expect(error.resilience?.deadLetterId).toBe(record.id);
    expect(onSinkError).toHaveBeenCalledWith(expect.objectContaining({ during: 'onDeadLetter', record }));
  });

  it('stops recording after eject', async () => {
    const { sink, instance, attachment } = setup();
    attachment.eject();
    await failure(instance.post('/charges', {}));
    expect(await sink.size()).toBe(0);
  });

  it('works wired by hand through createDeadLetterInterceptors', async () => {
    const sink = memorySink();
    const instance = axios.create({ adapter: stubAdapter(always(500)) });
    instance.interceptors.response.use(...createDeadLetterInterceptors({ sink }).response);
    const error = await failure(instance.put('https://api.example.test/items/1', 'raw text'));
    expect(await onlyRecord(sink)).toMatchObject({ method: 'PUT', body: 'raw text', bodyEncoding: 'utf8' });
    expect(error.resilience?.deadLetterId).toBeDefined();
  });
});

describe('attachDeadLetter: bodies', () => {
  let sink: MemorySink;
  let instance: AxiosInstance;
  beforeEach(() => {
    ({ sink, instance } = setup(always(500), { maxBodyBytes: 64 }));
  });

  it('keeps bytes as base64 and form bodies as the text sent', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 251, 252]);
    await failure(instance.put('/bytes', bytes, { headers: { 'content-type': 'application/octet-stream' } }));
    await failure(instance.post('/form', new URLSearchParams({ a: '1', b: 'two words' })));
    const [binary, form] = await sink.list();
    expect(binary).toMatchObject({ body: bytes.toString('base64'), bodyEncoding: 'base64', replayable: true });
    expect(form).toMatchObject({ body: 'a=1&b=two+words', bodyEncoding: 'utf8', replayable: true });
    expect(form.headers['content-type']).toContain('application/x-www-form-urlencoded');
  });

  it('marks truncated, redacted and unreadable bodies as not replayable', async () => {
    await failure(instance.post('/big', 'é'.repeat(100)));
    await failure(instance.post('/stream', Readable.from(['chunk']), { headers: { 'content-type': 'text/plain' } }));
    const [big, stream] = await sink.list();
    expect(big).toMatchObject({ body: 'é'.repeat(32), replayable: false, redacted: ['body:truncated'] });
    expect(stream).toMatchObject({ body: null, bodyEncoding: null, replayable: false, redacted: ['body:unsupported'] });
  });

  it('lets redactBody rewrite request and response bodies', async () => {
    const redacting = setup(always(400, { echo: 'card 4242424242424242' }), {
      redactBody: ({ body }) => body.replace(/\d{16}/g, '****'),
    });
    await failure(redacting.instance.post('/pay', { card: '4242424242424242' }));
    await failure(redacting.instance.post('/pay', { card: 'none' }));
    const [changed, unchanged] = await redacting.sink.list();
    expect(changed).toMatchObject({ body: '{"card":"****"}', replayable: false, redacted: ['body', 'response-body'] });
    expect(changed.error.responseBody).toBe('{"echo":"card ****"}');
    expect(unchanged).toMatchObject({ body: '{"card":"none"}', replayable: true });
  });

  it('truncates large response bodies', async () => {
    const large = setup(always(500, 'x'.repeat(10_000)), { maxResponseBodyBytes: 100 });
    await failure(large.instance.post('/x', {}));
    const record = await onlyRecord(large.sink);
    expect(record.error.responseBody).toBe('x'.repeat(100));
    expect(record.redacted).toEqual(['response-body:truncated']);
    expect(record.replayable).toBe(true);
  });
});

describe('attachDeadLetter: rate-limit rejections', () => {
  function limitedInstance(attachConfig: boolean) {
    const sink = memorySink();
    const adapter = stubAdapter(always(200));
    const instance = axios.create({ baseURL: 'https://api.example.test', adapter });
    // A stand-in for the rate-limit layer: it rejects before anything is sent.
    registerLayer(instance, {
      name: 'limiter',
      requestStage: 200,
      request: (config) => {
        const error = new RateLimitedError('no token within 60000 ms', 'https://api.example.test');
        if (attachConfig) Object.assign(error, { config });
        throw error;
      },
    });
    attachDeadLetter(instance, { sink });
    return { sink, adapter, instance };
  }

  it('records one with its config as rate-limited, with the body axios would have sent', async () => {
    const { sink, instance, adapter } = limitedInstance(true);
    const error = await failure(
      instance.post('/charges', { amount: 7 }, { headers: { authorization: 'Bearer abcdefghijk' } }),
    );
    expect(adapter.calls).toHaveLength(0);
    const record = await onlyRecord(sink);
    expect(record).toMatchObject({
      reason: 'rate-limited',
      attempts: 1,
      body: '{"amount":7}',
      error: { code: 'ERR_RATE_LIMITED', status: null },
      redacted: ['header:authorization'],
    });
    expect(record.headers['content-type']).toBe('application/json');
    expect(error.resilience).toMatchObject({ reason: 'rate-limited', deadLetterId: record.id });
  });

  it('passes one without a config through with its summary only', async () => {
    const { sink, instance } = limitedInstance(false);
    const error = await failure(instance.post('/charges', { amount: 7 }));
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error.resilience).toEqual({ attempts: 1, totalDelayMs: 0, reason: 'rate-limited' });
    expect(await sink.size()).toBe(0);
  });
});

describe('attachDeadLetter: options', () => {
  const instance = axios.create();
  it.each([
    [{ sink: {} }, /deadLetter\.sink\.put/],
    [{ methods: 'POST' }, /deadLetter\.methods/],
    [{ sinkTimeoutMs: 0 }, /deadLetter\.sinkTimeoutMs/],
    [{ maxBodyBytes: 1.5 }, /deadLetter\.maxBodyBytes/],
    [{ redactHeaders: [''] }, /deadLetter\.redactHeaders\[0\]/],
    [{ filter: true }, /deadLetter\.filter/],
    [{ sinkTimeout: 5 }, /sinkTimeout: unknown option/],
    [{ clock: {} }, /deadLetter\.clock/],
  ])('rejects %p', (options, message) => {
    expect(() => attachDeadLetter(instance, options as DeadLetterOptions)).toThrow(TypeError);
    expect(() => attachDeadLetter(instance, options as DeadLetterOptions)).toThrow(message);
  });

  it('rejects something that is not an axios instance', () => {
    expect(() => attachDeadLetter({} as AxiosInstance)).toThrow(/instance: expected an axios instance/);
  });
});
