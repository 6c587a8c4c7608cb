import axios, { AxiosError, AxiosHeaders, type AxiosAdapter, type AxiosInstance } from 'axios';
import {
  attachChaos,
  createChaosInterceptors,
  getInjectedFault,
  type ChaosFault,
  type ChaosFaultState,
} from '@axios-resilience/chaos';
import { attachedLayers, isResilienceError, registerLayer, RESPONSE_STAGE, type Clock } from '@axios-resilience/core';
import { sendJson, startTestServer, type TestServer } from '@axios-resilience/testkit';

let server: TestServer;

beforeEach(async () => {
  server = await startTestServer();
});

afterEach(async () => {
  await server.close();
});

function client(): AxiosInstance {
  return axios.create({ baseURL: server.url });
}

/** Every request faults, with the one fault given. */
function always(fault: ChaosFault) {
  return { rate: 1, faults: [fault] };
}

async function failure(promise: Promise<unknown>): Promise<AxiosError> {
  try {
    await promise;
  } catch (error) {
    return error as AxiosError;
  }
  throw new Error('expected the request to fail');
}

/** A clock whose waits are recorded and then run on the next macrotask, so no test sleeps for real. */
function recordingClock(): Clock & { waits: number[] } {
  const waits: number[] = [];
  return {
    waits,
    now: () => Date.now(),
    setTimeout(callback, ms) {
      waits.push(ms);
      return setImmediate(callback);
    },
    clearTimeout(handle) {
      clearImmediate(handle as NodeJS.Immediate);
    },
  };
}

describe('attachChaos: status faults', () => {
  it('answers 429 with Retry-After: 1 as an AxiosError, and the server receives nothing', async () => {
    const instance = client();
    attachChaos(instance, always({ kind: 'status', status: 429 }));
    const error = await failure(instance.post('/charges', { amount: 100 }));
    expect(axios.isAxiosError(error)).toBe(true);
    expect(error.code).toBe(AxiosError.ERR_BAD_REQUEST);
    expect(error.message).toBe('Request failed with status code 429');
    expect(error.response?.status).toBe(429);
    expect(error.response?.statusText).toBe('Too Many Requests');
    expect(error.response?.headers).toBeInstanceOf(AxiosHeaders);
    expect(error.response?.headers['retry-after']).toBe('1');
    // The body went through axios's own response transform, as a real one would.
    expect(error.response?.data).toEqual({
      error: { type: 'chaos', message: 'Injected fault: 429 Too Many Requests' },
    });
    expect(error.config?.url).toBe('/charges');
    expect(getInjectedFault(error)).toMatchObject({ kind: 'status', status: 429 });
    expect(server.requests).toHaveLength(0);
  });

  it('makes 5xx faults ERR_BAD_RESPONSE, with custom headers and body', async () => {
    const instance = client();
    attachChaos(
      instance,
      always({ kind: 'status', status: 503, retryAfter: 7, headers: { 'X-RateLimit-Remaining': '0' }, body: 'down' }),
    );
    const error = await failure(instance.get('/health'));
    expect(error.code).toBe(AxiosError.ERR_BAD_RESPONSE);
    expect(error.response?.status).toBe(503);
    expect(error.response?.headers['retry-after']).toBe('7');
    expect(error.response?.headers['x-ratelimit-remaining']).toBe('0');
    expect(error.response?.headers['content-type']).toMatch(/^text\/plain/);
    expect(error.response?.data).toBe('down');
    expect(server.requests).toHaveLength(0);
  });

  it('lets validateStatus decide, as axios settles real answers', async () => {
    const instance = client();
    attachChaos(instance, always({ kind: 'status', status: 502 }));
    const response = await instance.get('/health', { validateStatus: () => true });
    expect(response.status).toBe(502);
    expect(getInjectedFault(response)).toMatchObject({ kind: 'status', status: 502 });
    expect(server.requests).toHaveLength(0);
  });

  it('passes through the response interceptors like a real failure', async () => {
    const instance = client();
    const seen: unknown[] = [];
    instance.interceptors.response.use(undefined, (error) => {
      seen.push(error);
      return Promise.reject(error);
    });
    attachChaos(instance, always({ kind: 'status', status: 500 }));
    const error = await failure(instance.get('/x'));
    expect(seen).toEqual([error]);
  });
});

describe('attachChaos: network, timeout, drop-response, latency', () => {
  it('makes a connection reset: code ECONNRESET, no response, nothing sent', async () => {
    const instance = client();
    attachChaos(instance, always({ kind: 'network' }));
    const error = await failure(instance.post('/charges', { amount: 1 }));
    expect(axios.isAxiosError(error)).toBe(true);
    expect(error.code).toBe('ECONNRESET');
    expect(error.message).toBe('socket hang up');
    expect(error.response).toBeUndefined();
    expect(error.request).toBeDefined();
    expect((error.cause as { code?: string }).code).toBe('ECONNRESET');
    expect(server.requests).toHaveLength(0);
  });

  it('makes other network codes on request', async () => {
    const instance = client();
    attachChaos(instance, always({ kind: 'network', code: 'ECONNREFUSED' }));
    const error = await failure(instance.get('/x'));
    expect(error.code).toBe('ECONNREFUSED');
    expect(error.message).toBe(`connect ECONNREFUSED 127.0.0.1:${server.port}`);
    expect(server.requests).toHaveLength(0);
  });

  it("times out after the request's timeout with axios's ECONNABORTED error, nothing sent", async () => {
    const instance = client();
    attachChaos(instance, always({ kind: 'timeout' }));
    const startedAt = Date.now();
    const error = await failure(instance.get('/slow', { timeout: 150 }));
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(140);
    expect(error.code).toBe('ECONNABORTED');
    expect(error.message).toBe('timeout of 150ms exceeded');
    expect(error.response).toBeUndefined();
    expect(server.requests).toHaveLength(0);
  });

  it('honours timeoutErrorMessage and clarifyTimeoutError, and uses the fault ms when timeout is 0', async () => {
    const clock = recordingClock();
    const instance = client();
    attachChaos(instance, { ...always({ kind: 'timeout', ms: 5000 }), clock });
    const error = await failure(
      instance.get('/slow', { timeoutErrorMessage: 'too slow', transitional: { clarifyTimeoutError: true } }),
    );
    expect(error.code).toBe('ETIMEDOUT');
    expect(error.message).toBe('too slow');
    expect(clock.waits).toEqual([5000]);
    expect(server.requests).toHaveLength(0);
  });

  it('drop-response: the server receives the request exactly once, the client gets a reset', async () => {
    server.setHandler((request, response) => sendJson(response, 201, { id: 'ch_1', body: request.body.toString() }));
    const instance = client();
    attachChaos(instance, always({ kind: 'drop-response' }));
    const error = await failure(instance.post('/charges', { amount: 4200 }, { headers: { 'Idempotency-Key': 'k1' } }));
    expect(error.code).toBe('ECONNRESET');
    expect(error.response).toBeUndefined();
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0].method).toBe('POST');
    expect(JSON.parse(server.requests[0].body.toString())).toEqual({ amount: 4200 });
    expect(server.requests[0].headers['idempotency-key']).toBe('k1');
  });

  it('drop-response with error "timeout": the server commits, the client times out', async () => {
    const instance = client();
    attachChaos(instance, always({ kind: 'drop-response', error: 'timeout' }));
    const error = await failure(instance.post('/charges', { amount: 1 }, { timeout: 200 }));
    expect(error.code).toBe('ECONNABORTED');
    expect(error.message).toBe('timeout of 200ms exceeded');
    expect(server.requests).toHaveLength(1);
  });

  it('drop-response also drops an error answer, and passes a real network failure through as it is', async () => {
    server.setHandler((_request, response) => sendJson(response, 500, { error: 'real' }));
    const instance = client();
    attachChaos(instance, always({ kind: 'drop-response' }));
    const dropped = await failure(instance.post('/charges', {}));
    expect(dropped.code).toBe('ECONNRESET');
    expect(dropped.response).toBeUndefined();

    const closed = await startTestServer();
    await closed.close();
    const unreachable = axios.create({ baseURL: closed.url });
    attachChaos(unreachable, always({ kind: 'drop-response' }));
    const real = await failure(unreachable.get('/x'));
    expect(real.code).toBe('ECONNREFUSED');
    expect(getInjectedFault(real)).toBeUndefined();
  });

  it('latency: waits the configured ms, then sends the request for real', async () => {
    const clock = recordingClock();
    const instance = client();
    attachChaos(instance, { ...always({ kind: 'latency', ms: 200 }), clock });
    const response = await instance.get('/hello');
    expect(clock.waits).toEqual([200]);
    expect(response.status).toBe(200);
    expect(response.data).toEqual({ ok: true });
    expect(server.requests).toHaveLength(1);
  });

  it('latency delays on the real clock too', async () => {
    const instance = client();
    attachChaos(instance, always({ kind: 'latency', ms: 120 }));
    const startedAt = Date.now();
    await instance.get('/hello');
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(110);
    expect(server.requests).toHaveLength(1);
  });

  it("latency at or above the request's timeout becomes that timeout, and nothing is sent", async () => {
    const clock = recordingClock();
    const instance = client();
    attachChaos(instance, { ...always({ kind: 'latency', ms: 5000 }), clock });
    const error = await failure(instance.get('/hello', { timeout: 300 }));
    expect(clock.waits).toEqual([300]);
    expect(error.code).toBe('ECONNABORTED');
    expect(server.requests).toHaveLength(0);
  });

  it('an abort during latency rejects at once with CanceledError, and nothing is sent', async () => {
    const instance = client();
    attachChaos(instance, always({ kind: 'latency', ms: 60_000 }));
    const controller = new AbortController();
    const pending = failure(instance.get('/hello', { signal: controller.signal }));
    setTimeout(() => controller.abort(), 20);
    const error = await pending;
    expect(axios.isCancel(error)).toBe(true);
    expect(server.requests).toHaveLength(0);
  });

  it('an abort during a timeout fault rejects with CanceledError', async () => {
    const instance = client();
    attachChaos(instance, always({ kind: 'timeout', ms: 60_000 }));
    const controller = new AbortController();
    const pending = failure(instance.get('/hello', { signal: controller.signal }));
    setTimeout(() => controller.abort(), 20);
    expect(axios.isCancel(await pending)).toBe(true);
  });
});

describe('attachChaos: selection, hooks, re-entry', () => {
  it('match restricts faults to the chosen requests; others reach the server and consume no draw', async () => {
    const random = jest.fn(() => 0);
    const instance = client();
    attachChaos(instance, {
      ...always({ kind: 'status', status: 503 }),
      seed: undefined,
      random,
      match: (config) => config.method === 'post',
    });
    const ok = await instance.get('/charges');
    expect(ok.status).toBe(200);
    expect(random).not.toHaveBeenCalled();
    const error = await failure(instance.post('/charges', {}));
    expect(error.response?.status).toBe(503);
    expect(server.requests.map((request) => request.method)).toEqual(['GET']);
  });

  it('an async match is awaited, and a throwing match means no fault', async () => {
    const instance = client();
    attachChaos(instance, {
      ...always({ kind: 'network' }),
      match: async (config) => {
        if (config.url === '/broken') throw new Error('bug in predicate');
        return config.url === '/chaos';
      },
    });
    expect((await instance.get('/broken')).status).toBe(200);
    expect((await failure(instance.get('/chaos'))).code).toBe('ECONNRESET');
    expect(server.requests.map((request) => request.url)).toEqual(['/broken']);
  });

  it('match sees the body as given, before axios serialises it, whether it answers at once or with a promise', async () => {
    const seen: unknown[] = [];
    const instance = client();
    attachChaos(instance, {
      ...always({ kind: 'status', status: 503 }),
      match: (config) => {
        seen.push(config.data);
        return config.url === '/async' ? Promise.resolve(true) : (config.data as { chaos?: boolean }).chaos === true;
      },
    });
    expect((await failure(instance.post('/charges', { chaos: true }))).response?.status).toBe(503);
    expect((await instance.post('/charges', { chaos: false })).status).toBe(200);
    expect((await failure(instance.post('/async', { amount: 1 }))).response?.status).toBe(503);
    expect(seen).toEqual([{ chaos: true }, { chaos: false }, { amount: 1 }]);
  });

  it('onFault gets one state object (fault, method, url, attempt) without headers; its errors are ignored', async () => {
    const states: ChaosFaultState[] = [];
    const instance = client();
    attachChaos(instance, {
      ...always({ kind: 'status', status: 429 }),
      onFault: (state) => {
        states.push(state);
        throw new Error('hook failure');
      },
    });
    const error = await failure(
      instance.post('/charges', { a: 1 }, { params: { q: 'x' }, headers: { Authorization: 'Bearer secret' } }),
    );
    expect(error.response?.status).toBe(429);
    expect(states).toHaveLength(1);
    expect(states[0]).toEqual({
      fault: expect.objectContaining({ kind: 'status', status: 429 }),
      method: 'POST',
      url: `${server.url}/charges?q=x`,
      attempt: 1,
    });
    expect(JSON.stringify(states[0])).not.toContain('secret');

    const rejecting = client();
    attachChaos(rejecting, { ...always({ kind: 'network' }), onFault: async () => Promise.reject(new Error('async')) });
    expect((await failure(rejecting.get('/'))).code).toBe('ECONNRESET');
  });

  it('each attempt re-enters the chain and draws again; a re-sent config gets the real adapter back', async () => {
    // Draws: fault (0 < rate), which fault (0); then no fault (0.99).
    const values = [0, 0, 0.99];
    const instance = client();
    attachChaos(instance, { rate: 0.5, faults: [{ kind: 'network' }], random: () => values.shift() as number });
    const error = await failure(instance.get('/again'));
    expect(error.code).toBe('ECONNRESET');
    const retried = await instance.request(error.config!);
    expect(retried.status).toBe(200);
    expect(retried.config.adapter).toEqual(instance.defaults.adapter);
    expect(server.requests).toHaveLength(1);
    expect(values).toHaveLength(0);
  });

  it('faults flow through the other layers like real ones: a retry layer retries them through the whole chain', async () => {
    const instance = client();
    const seenByRetry: string[] = [];
    registerLayer(instance, {
      name: 'test-retry',
      responseStage: RESPONSE_STAGE.retry,
      onResponseError: (error) => {
        const axiosError = error as AxiosError;
        seenByRetry.push(String(axiosError.response?.status ?? axiosError.code));
        const attempt = axiosError.config?.resilience?.attempt ?? 1;
        if (attempt < 4) return instance.request(axiosError.config!);
        return Promise.reject(error);
      },
    });
    const values = [0, 0.1, 0, 0.5, 0, 0.9, 0.99];
    attachChaos(instance, {
      rate: 0.5,
      faults: [{ kind: 'status', status: 429 }, { kind: 'status', status: 503 }, { kind: 'network' }],
      random: () => values.shift() as number,
    });
    expect(attachedLayers(instance)).toEqual(['chaos', 'test-retry']);
    const response = await instance.get('/eventually');
    expect(response.status).toBe(200);
    expect(seenByRetry).toEqual(['429', '503', 'ECONNRESET']);
    expect(response.config.resilience?.attempt).toBe(4);
    expect(server.requests).toHaveLength(1);
  });

  it('the same seed makes the same sequence of outcomes', async () => {
    const stub: AxiosAdapter = async (config) => ({ data: 'ok', status: 200, statusText: 'OK', headers: {}, config });
    async function outcomes(seed: number): Promise<string[]> {
      const instance = axios.create({ adapter: stub });
      attachChaos(instance, {
        rate: 0.4,
        seed,
        faults: [{ kind: 'status', status: 429 }, { kind: 'status', status: 500 }, { kind: 'network' }],
      });
      const results: string[] = [];
      for (let index = 0; index < 60; index += 1) {
        try {
          results.push(String((await instance.get('/x')).status));
        } catch (error) {
          const axiosError = error as AxiosError;
          results.push(String(axiosError.response?.status ?? axiosError.code));
        }
      }
      return results;
    }
    const first = await outcomes(11);
    expect(await outcomes(11)).toEqual(first);
    expect(await outcomes(12)).not.toEqual(first);
    expect(new Set(first)).toEqual(new Set(['200', '429', '500', 'ECONNRESET']));
  });

  it('eject removes it: requests reach the server untouched again', async () => {
    const instance = client();
    const attachment = attachChaos(instance, always({ kind: 'network' }));
    expect((await failure(instance.get('/a'))).code).toBe('ECONNRESET');
    attachment.eject();
    attachment.eject();
    expect(attachedLayers(instance)).toEqual([]);
    expect((await instance.get('/b')).status).toBe(200);
    expect(server.requests.map((request) => request.url)).toEqual(['/b']);
  });

  it('a config re-sent after eject goes through: a fault adapter acts only once', async () => {
    const instance = client();
    const attachment = attachChaos(instance, always({ kind: 'status', status: 503 }));
    const error = await failure(instance.get('/once'));
    attachment.eject();
    expect((await instance.request(error.config!)).status).toBe(200);
    expect(server.requests).toHaveLength(1);
  });

  it('works wired by hand with createChaosInterceptors', async () => {
    const instance = client();
    instance.interceptors.request.use(...createChaosInterceptors(always({ kind: 'status', status: 504 })).request);
    const error = await failure(instance.get('/hand'));
    expect(error.response?.status).toBe(504);
    expect(server.requests).toHaveLength(0);
  });

  it('at rate 0 nothing is touched', async () => {
    const instance = client();
    attachChaos(instance, { rate: 0 });
    await Promise.all(Array.from({ length: 20 }, () => instance.get('/fine')));
    expect(server.requests).toHaveLength(20);
  });
});

describe('attachChaos: guards and options', () => {
  const savedEnvironment = process.env.NODE_ENV;
  afterEach(() => {
    process.env.NODE_ENV = savedEnvironment;
  });

  it('refuses to attach when NODE_ENV is production, with a clear ERR_CHAOS_REFUSED', () => {
    process.env.NODE_ENV = 'production';
    const instance = client();
    let thrown: unknown;
    try {
      attachChaos(instance, { rate: 0.5 });
    } catch (error) {
      thrown = error;
    }
    expect(isResilienceError(thrown)).toBe(true);
    expect(thrown).toMatchObject({ code: 'ERR_CHAOS_REFUSED' });
    expect((thrown as Error).message).toMatch(/NODE_ENV is "production".*allowInProduction: true/);
    expect(attachedLayers(instance)).toEqual([]);
    expect(() => createChaosInterceptors()).toThrow(/refused/);
  });

  it('attaches in production when allowInProduction is set', async () => {
    process.env.NODE_ENV = 'production';
    const instance = client();
    attachChaos(instance, { ...always({ kind: 'network' }), allowInProduction: true });
    expect((await failure(instance.get('/'))).code).toBe('ECONNRESET');
  });

  it.each([
    [{ rate: 2 }, /chaos\.rate: expected a number from 0 to 1, got 2/],
    [{ faults: [{ kind: 'status', status: 99 }] }, /chaos\.faults\[0\]\.status/],
    [{ match: 'post' }, /chaos\.match: expected a function, got "post"/],
    [{ onFault: 1 }, /chaos\.onFault: expected a function/],
    [{ clock: { now: () => 0 } }, /chaos\.clock\.setTimeout: expected a function/],
    [{ allowInProduction: 'yes' }, /chaos\.allowInProduction: expected a boolean/],
    [{ ratio: 0.1 }, /chaos\.ratio: unknown option/],
    [{ seed: 'abc' }, /chaos\.seed: expected an integer/],
  ])('refuses %p at attach time with a TypeError naming the option', (options, message) => {
    const instance = client();
    expect(() => attachChaos(instance, options as never)).toThrow(TypeError);
    expect(() => attachChaos(instance, options as never)).toThrow(message);
    expect(attachedLayers(instance)).toEqual([]);
  });
});
