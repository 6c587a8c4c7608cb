import { attachedLayers, getResilience, isIdempotencyKeyReusedError, isResilienceError } from '@axios-resilience/core';
import { stubAdapter } from '@axios-resilience/testkit';
import axios, { AxiosHeaders, type AxiosError, type InternalAxiosRequestConfig } from 'axios';
import {
  attachIdempotency,
  createIdempotencyInterceptors,
  createReuseGuard,
  wasReplayed,
  type IdempotencyOptions,
} from '../src';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function setup(options?: IdempotencyOptions, status = 200) {
  const adapter = stubAdapter(() => ({ status, data: { ok: true } }));
  const instance = axios.create({ baseURL: 'https://api.test/v1', adapter });
  const attachment = attachIdempotency(instance, options);
  return { instance, adapter, attachment };
}

function sentKey(config: InternalAxiosRequestConfig, name = 'Idempotency-Key'): string | undefined {
  const value = AxiosHeaders.from(config.headers).get(name);
  return typeof value === 'string' ? value : undefined;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the request to be rejected');
}

describe('attachIdempotency', () => {
  it('gives every write a fresh uuid v4 key, in the header and in config.resilience', async () => {
    const { instance, adapter } = setup();
    for (const method of ['post', 'put', 'patch', 'delete'] as const) {
      const response = await instance.request({ method, url: '/charges', data: { amount: 1 } });
      const key = sentKey(adapter.calls.at(-1)!);
      expect(key).toMatch(UUID_V4);
      expect(getResilience(response.config).idempotencyKey).toBe(key);
    }
    const keys = adapter.calls.map((call) => sentKey(call));
    expect(new Set(keys).size).toBe(4);
  });

  it('leaves reads alone', async () => {
    const { instance, adapter } = setup();
    await instance.get('/charges/ch_1');
    await instance.head('/charges/ch_1');
    expect(adapter.calls.map((call) => sentKey(call))).toEqual([undefined, undefined]);
    expect(getResilience(adapter.calls[0]).idempotencyKey).toBeUndefined();
  });

  it('follows the methods and headerName options', async () => {
    const { instance, adapter } = setup({ methods: ['post'], headerName: 'X-Request-Key' });
    await instance.post('/charges', {});
    await instance.put('/charges/ch_1', {});
    expect(sentKey(adapter.calls[0], 'X-Request-Key')).toMatch(UUID_V4);
    expect(sentKey(adapter.calls[0])).toBeUndefined();
    expect(sentKey(adapter.calls[1], 'X-Request-Key')).toBeUndefined();
  });

  it('sends a key from resilience.idempotencyKey as it is, on any method', async () => {
    const generateKey = jest.fn(() => 'generated');
    const { instance, adapter } = setup({ generateKey });
    await instance.post('/charges', { amount: 1 }, { resilience: { idempotencyKey: 'order-42-upsell' } });
    await instance.get('/charges', { resilience: { idempotencyKey: 'list-7' } });
    expect(adapter.calls.map((call) => sentKey(call))).toEqual(['order-42-upsell', 'list-7']);
    expect(generateKey).not.toHaveBeenCalled();
  });

  it('keeps a header the caller set, in any letter case, and records its key', async () => {
    const { instance, adapter } = setup({ generateKey: () => 'generated' });
    const response = await instance.post('/charges', {}, { headers: { 'idempotency-key': 'from-caller' } });
    expect(sentKey(adapter.calls[0])).toBe('from-caller');
    expect(getResilience(response.config).idempotencyKey).toBe('from-caller');
  });

  it('records a quoted header as the whole key in raw format', async () => {
    const { instance, adapter } = setup();
    const response = await instance.post('/charges', {}, { headers: { 'Idempotency-Key': '"quoted"' } });
    expect(sentKey(adapter.calls[0])).toBe('"quoted"');
    expect(getResilience(response.config).idempotencyKey).toBe('"quoted"');
  });

  it('sends no key with resilience.idempotencyKey: false, even over an instance default header', async () => {
    const { instance, adapter } = setup();
    instance.defaults.headers.post['Idempotency-Key'] = 'shared-by-mistake';
    const response = await instance.post('/charges', {}, { resilience: { idempotencyKey: false } });
    expect(sentKey(adapter.calls[0])).toBeUndefined();
    expect(getResilience(response.config).idempotencyKey).toBe(false);
  });

  it('treats a key header the caller set to false (axios: do not send) as an opt-out: no key recorded either', async () => {
    const { instance, adapter } = setup();
    const response = await instance.post('/charges', { amount: 1 }, { headers: { 'IDEMPOTENCY-KEY': false } });
    expect(sentKey(adapter.calls[0])).toBeUndefined();
    // A key recorded but never sent would let retry re-send this write as if the server could tell it apart.
    expect(getResilience(response.config).idempotencyKey).toBeUndefined();
    // A key given through resilience.idempotencyKey is the layer's own API: it wins, and is sent.
    await instance.post(
      '/charges',
      { amount: 2 },
      { headers: { 'idempotency-key': false }, resilience: { idempotencyKey: 'order-2' } },
    );
    expect(sentKey(adapter.calls[1])).toBe('order-2');
  });

  it('sends a quoted sf-string in structured format and keeps the raw key in config.resilience', async () => {
    const { instance, adapter } = setup({ format: 'structured', generateKey: () => 'key-1' });
    const generated = await instance.post('/charges', {});
    const given = await instance.post('/charges', {}, { resilience: { idempotencyKey: 'say "hi"' } });
    const quoted = await instance.post('/charges', {}, { headers: { 'Idempotency-Key': '"already-quoted"' } });
    expect(adapter.calls.map((call) => sentKey(call))).toEqual(['"key-1"', '"say \\"hi\\""', '"already-quoted"']);
    expect(getResilience(generated.config).idempotencyKey).toBe('key-1');
    expect(getResilience(given.config).idempotencyKey).toBe('say "hi"');
    expect(getResilience(quoted.config).idempotencyKey).toBe('already-quoted');
  });

  it('reuses the key when the same config comes back through the chain, as a retry sends it', async () => {
    let generated = 0;
    const generateKey = jest.fn((): string => `key-${(generated += 1)}`);
    const adapter = stubAdapter((_config, index) => (index < 2 ? { status: 503 } : { status: 200, data: {} }));
    const instance = axios.create({ adapter });
    attachIdempotency(instance, { generateKey, format: 'structured' });
    let config = ((await rejection(instance.post('https://api.test/charges', { amount: 1 }))) as AxiosError).config!;
    config = ((await rejection(instance.request(config))) as AxiosError).config!;
    const response = await instance.request(config);
    expect(generateKey).toHaveBeenCalledTimes(1);
    expect(adapter.calls.map((call) => sentKey(call))).toEqual(['"key-1"', '"key-1"', '"key-1"']);
    expect(getResilience(response.config)).toMatchObject({ idempotencyKey: 'key-1', attempt: 3 });
  });

  it('gives 100 concurrent operations 100 distinct keys', async () => {
    const { instance, adapter } = setup();
    await Promise.all(Array.from({ length: 100 }, (_, index) => instance.post('/charges', { index })));
    const keys = new Set(adapter.calls.map((call) => sentKey(call)));
    expect(keys.size).toBe(100);
  });

  describe('reuse guard', () => {
    it('refuses a key sent again with a different body, URL or method, before anything is sent', async () => {
      const { instance, adapter } = setup();
      const resilience = { idempotencyKey: 'op-1' };
      await instance.post('/charges', { amount: 100 }, { resilience });
      const attempts = [
        instance.post('/charges', { amount: 200 }, { resilience }),
        instance.post('/refunds', { amount: 100 }, { resilience }),
        instance.put('/charges', { amount: 100 }, { resilience }),
        instance.post('/charges', { amount: 100 }, { resilience, params: { expand: 'customer' } }),
      ];
      for (const attempt of attempts) {
        const error = await rejection(attempt);
        expect(isIdempotencyKeyReusedError(error)).toBe(true);
        expect((error as { code: string }).code).toBe('ERR_IDEMPOTENCY_KEY_REUSED');
      }
      expect(adapter.calls).toHaveLength(1);
    });

    it('lets the same request go again under its key (the server replays it)', async () => {
      const { instance, adapter } = setup();
      const resilience = { idempotencyKey: 'op-1' };
      await instance.post('/charges', { amount: 100, tags: ['a'] }, { resilience });
      await instance.post('/charges', '{"amount":100,"tags":["a"]}', {
        resilience,
        headers: { 'content-type': 'application/json' },
      });
      expect(adapter.calls).toHaveLength(2);
    });

    it('checks keys set in a header too', async () => {
      const { instance, adapter } = setup();
      await instance.post('/charges', { amount: 1 }, { headers: { 'Idempotency-Key': 'h-1' } });
      const error = await rejection(
        instance.post('/charges', { amount: 2 }, { headers: { 'Idempotency-Key': 'h-1' } }),
      );
      expect(isIdempotencyKeyReusedError(error)).toBe(true);
      expect(adapter.calls).toHaveLength(1);
    });

    it('never trips on a retry, whose body axios has already serialised', async () => {
      const adapter = stubAdapter((_config, index) => (index === 0 ? { status: 503 } : { status: 200 }));
      const instance = axios.create({ adapter });
      attachIdempotency(instance, { guard: { maxEntries: 10 } });
      const error = (await rejection(
        instance.post(
          'https://api.test/charges',
          { amount: 1 },
          { headers: { 'content-type': 'application/x-www-form-urlencoded' } },
        ),
      )) as AxiosError;
      expect(typeof error.config!.data).toBe('string');
      await expect(instance.request(error.config!)).resolves.toMatchObject({ status: 200 });
      expect(adapter.calls.map((call) => sentKey(call))).toEqual([
        sentKey(adapter.calls[0]),
        sentKey(adapter.calls[0]),
      ]);
    });

    it('can be shared by two instances, or turned off', async () => {
      const guard = createReuseGuard();
      const first = setup({ guard });
      const second = setup({ guard });
      await first.instance.post('/charges', { amount: 1 }, { resilience: { idempotencyKey: 'shared' } });
      const error = await rejection(
        second.instance.post('/charges', { amount: 2 }, { resilience: { idempotencyKey: 'shared' } }),
      );
      expect(isIdempotencyKeyReusedError(error)).toBe(true);

      const unguarded = setup({ guard: false });
      await unguarded.instance.post('/charges', { amount: 1 }, { resilience: { idempotencyKey: 'k' } });
      await unguarded.instance.post('/charges', { amount: 2 }, { resilience: { idempotencyKey: 'k' } });
      expect(unguarded.adapter.calls).toHaveLength(2);
    });

    it('stays bounded through the interceptor (100,000 operations are run against the guard itself)', async () => {
      const guard = createReuseGuard({ maxEntries: 500 });
      const [onRequest] = createIdempotencyInterceptors({ guard }).request;
      let largest = 0;
      for (let operation = 0; operation < 10_000; operation += 1) {
        const config = {
          method: 'post',
          url: `https://api.test/charges`,
          data: { operation },
          headers: new AxiosHeaders({ 'Idempotency-Key': `caller-${operation}` }),
        } as InternalAxiosRequestConfig;
        await onRequest(config);
        largest = Math.max(largest, guard.size);
      }
      expect(largest).toBe(500);
    });

    it('does not remember the keys it makes itself: a fresh key cannot belong to another operation', async () => {
      const guard = createReuseGuard();
      const [onRequest] = createIdempotencyInterceptors({ guard }).request;
      for (let operation = 0; operation < 100; operation += 1) {
        const config = {
          method: 'post',
          url: `https://api.test/charges`,
          data: { operation },
          headers: new AxiosHeaders(),
        } as InternalAxiosRequestConfig;
        await onRequest(config);
        expect(config.resilience?.idempotencyKey).toEqual(expect.any(String));
      }
      expect(guard.size).toBe(0);
    });
  });

  describe('invalid keys', () => {
    it.each([
      ['an empty string', () => '', /is empty/],
      ['a key over 255 characters', () => 'k'.repeat(256), /256 characters long, over the limit of 255/],
      ['a number', () => 7 as unknown as string, /must be a string, got number/],
    ])('refuses a generator returning %s before anything is sent', async (_label, generateKey, message) => {
      const { instance, adapter } = setup({ generateKey });
      const error = await rejection(instance.post('/charges', {}));
      expect(isResilienceError(error)).toBe(true);
      expect((error as { code: string }).code).toBe('ERR_IDEMPOTENCY_KEY_INVALID');
      expect((error as Error).message).toMatch(/^The idempotency key from generateKey\(\) /);
      expect((error as Error).message).toMatch(message);
      expect(adapter.calls).toHaveLength(0);
    });

    it('turns a throwing generator into ERR_IDEMPOTENCY_KEY_INVALID with the cause kept', async () => {
      const failure = new Error('entropy unavailable');
      const { instance, adapter } = setup({
        generateKey: () => {
          throw failure;
        },
      });
      const error = await rejection(instance.post('/charges', {}));
      expect(error).toMatchObject({ code: 'ERR_IDEMPOTENCY_KEY_INVALID', cause: failure });
      expect((error as Error).message).toMatch(/generateKey\(\) threw: entropy unavailable/);
      expect(adapter.calls).toHaveLength(0);
    });

    it('refuses an empty or over-long resilience.idempotencyKey and honours maxKeyLength', async () => {
      const { instance, adapter } = setup({ maxKeyLength: 8 });
      for (const idempotencyKey of ['', '123456789']) {
        const error = await rejection(instance.post('/charges', {}, { resilience: { idempotencyKey } }));
        expect(error).toMatchObject({ code: 'ERR_IDEMPOTENCY_KEY_INVALID' });
        expect((error as Error).message).toMatch(/^The idempotency key from resilience.idempotencyKey /);
      }
      await instance.post('/charges', {}, { resilience: { idempotencyKey: '12345678' } });
      expect(adapter.calls.map((call) => sentKey(call))).toEqual(['12345678']);
    });
  });

  it('eject() removes the layer', async () => {
    const { instance, adapter, attachment } = setup();
    expect(attachedLayers(instance)).toEqual(['idempotency']);
    attachment.eject();
    attachment.eject();
    expect(attachedLayers(instance)).toEqual([]);
    await instance.post('/charges', {});
    expect(sentKey(adapter.calls[0])).toBeUndefined();
  });
});

describe('createIdempotencyInterceptors', () => {
  it('works when wired by hand', async () => {
    const adapter = stubAdapter(() => ({ status: 200 }));
    const instance = axios.create({ adapter });
    instance.interceptors.request.use(...createIdempotencyInterceptors({ generateKey: () => 'hand-wired' }).request);
    await instance.post('https://api.test/charges', {});
    expect(sentKey(adapter.calls[0])).toBe('hand-wired');
  });

  it('gives a config built by hand (plain headers, an upper-case method) the same fresh key axios configs get', () => {
    const [handler] = createIdempotencyInterceptors({ format: 'structured' }).request;
    const viaAxios = handler({
      method: 'post',
      url: '/charges',
      headers: new AxiosHeaders({ Accept: 'application/json' }),
    } as InternalAxiosRequestConfig) as InternalAxiosRequestConfig;
    const byHand = handler({
      method: 'POST',
      url: '/charges',
      headers: { accept: 'application/json', 'IDEMPOTENCY-KEY': '' },
    } as unknown as InternalAxiosRequestConfig) as InternalAxiosRequestConfig;
    for (const config of [viaAxios, byHand]) {
      const key = getResilience(config).idempotencyKey as string;
      expect(key).toMatch(UUID_V4);
      // One header, whatever case an empty one the caller left had, carrying the quoted key.
      const keyHeaders = Object.keys(config.headers).filter((name) => name.toLowerCase() === 'idempotency-key');
      expect(keyHeaders).toEqual(['Idempotency-Key']);
      expect((config.headers as Record<string, unknown>)['Idempotency-Key']).toBe(`"${key}"`);
    }
    expect(getResilience(viaAxios).idempotencyKey).not.toBe(getResilience(byHand).idempotencyKey);
  });
});

describe('wasReplayed', () => {
  it('reads Idempotent-Replayed: true in any letter case', () => {
    expect(wasReplayed({ headers: new AxiosHeaders({ 'Idempotent-Replayed': 'true' }) })).toBe(true);
    expect(wasReplayed({ headers: { 'idempotent-replayed': 'TRUE' } })).toBe(true);
    expect(wasReplayed({ headers: { 'idempotent-replayed': 'false' } })).toBe(false);
    expect(wasReplayed({ headers: {} })).toBe(false);
    expect(wasReplayed(undefined)).toBe(false);
  });
});
