import axios, { type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import { attachedLayers, getResilience, registerLayer, REQUEST_STAGE, RESPONSE_STAGE } from '@axios-resilience/core';
import { stubAdapter } from '@axios-resilience/testkit';

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, index) =>
    permutations([...items.slice(0, index), ...items.slice(index + 1)]).map((rest) => [item, ...rest]),
  );
}

describe('the ordered registry', () => {
  const stages = [
    { name: 'idempotency', requestStage: REQUEST_STAGE.idempotency },
    { name: 'rate-limit', requestStage: REQUEST_STAGE.rateLimit, responseStage: RESPONSE_STAGE.rateLimitLearner },
    { name: 'chaos', requestStage: REQUEST_STAGE.chaos },
    { name: 'retry', responseStage: RESPONSE_STAGE.retry },
    { name: 'dead-letter', responseStage: RESPONSE_STAGE.deadLetter },
  ];

  it.each(permutations(stages).map((order) => [order.map((stage) => stage.name).join(' > '), order]))(
    'runs the same order whatever the attach order: %s',
    async (_label, order) => {
      const trace: string[] = [];
      const instance = axios.create({ adapter: stubAdapter(() => ({ status: 200 })) });
      for (const stage of order) {
        registerLayer(instance, {
          ...stage,
          request: stage.requestStage
            ? (config: InternalAxiosRequestConfig) => {
                trace.push(`request:${stage.name}`);
                return config;
              }
            : undefined,
          onResponse: stage.responseStage
            ? (response: AxiosResponse) => {
                trace.push(`response:${stage.name}`);
                return response;
              }
            : undefined,
        });
      }
      await instance.get('/');
      expect(trace).toEqual([
        'request:idempotency',
        'request:rate-limit',
        'request:chaos',
        'response:rate-limit',
        'response:retry',
        'response:dead-letter',
      ]);
    },
  );

  it('counts attempts and stamps times on the config', async () => {
    const adapter = stubAdapter(() => ({ status: 200 }));
    const instance = axios.create({ adapter });
    registerLayer(instance, { name: 'noop' });
    await instance.get('/', { resilience: { attempt: 2, firstAttemptAt: 5 } });
    const state = getResilience(adapter.calls[0]);
    expect(state.attempt).toBe(3);
    expect(state.firstAttemptAt).toBe(5);
    expect(typeof state.lastAttemptAt).toBe('number');
  });

  it('starts a first attempt with no options at attempt 1, both times read from the clock', async () => {
    const adapter = stubAdapter(() => ({ status: 200 }));
    const instance = axios.create({ adapter });
    const clock = { now: () => 1_234, setTimeout, clearTimeout };
    registerLayer(instance, { name: 'noop', requestStage: 0, request: (config) => config }, clock);
    await instance.get('/');
    expect(getResilience(adapter.calls[0])).toEqual({ attempt: 1, firstAttemptAt: 1_234, lastAttemptAt: 1_234 });
  });

  it('passes a rejection from one response layer to the next, like a promise chain', async () => {
    const instance = axios.create({ adapter: stubAdapter(() => ({ status: 500 })) });
    const seen: string[] = [];
    registerLayer(instance, {
      name: 'recover',
      responseStage: 1,
      onResponseError: () => ({ status: 299 }) as AxiosResponse,
    });
    registerLayer(instance, {
      name: 'after',
      responseStage: 2,
      onResponse: (response) => {
        seen.push(`fulfilled:${response.status}`);
        return response;
      },
    });
    const response = await instance.get('/');
    expect(response.status).toBe(299);
    expect(seen).toEqual(['fulfilled:299']);
  });

  it('installs one interceptor pair per instance and removes it with the last layer', () => {
    const instance = axios.create();
    const count = () =>
      (instance.interceptors.request as unknown as { handlers: unknown[] }).handlers.filter(Boolean).length;
    const first = registerLayer(instance, { name: 'a', requestStage: 1 });
    const second = registerLayer(instance, { name: 'b', requestStage: 2 });
    expect(count()).toBe(1);
    expect(attachedLayers(instance)).toEqual(['a', 'b']);
    first.eject();
    expect(count()).toBe(1);
    second.eject();
    expect(count()).toBe(0);
    expect(attachedLayers(instance)).toEqual([]);
  });

  describe('a request step that waits', () => {
    /** A step that holds its request until `release()` is called, the way a rate-limit token is awaited. */
    function gate() {
      let release!: () => void;
      const opened = new Promise<void>((resolve) => (release = resolve));
      const step = async (config: InternalAxiosRequestConfig) => {
        await opened;
        config.headers.set('X-Token', 'granted');
        return config;
      };
      return { step, release: () => release() };
    }

    it('sends nothing until the wait is over, then runs the steps after it and sends', async () => {
      const adapter = stubAdapter(() => ({ status: 200 }));
      const instance = axios.create({ adapter });
      const { step, release } = gate();
      const trace: string[] = [];
      registerLayer(instance, { name: 'gate', requestStage: 1, request: step });
      registerLayer(instance, {
        name: 'after',
        requestStage: 2,
        request: (config) => {
          trace.push(`after:${String(config.headers.get('X-Token'))}`);
          return config;
        },
      });
      const response = instance.post('/', { amount: 1 });
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(adapter.calls).toHaveLength(0);
      expect(trace).toEqual([]);
      release();
      await response;
      expect(trace).toEqual(['after:granted']);
      expect(adapter.calls).toHaveLength(1);
      expect(adapter.calls[0].headers.get('X-Token')).toBe('granted');
      expect(JSON.parse(adapter.calls[0].data as string)).toEqual({ amount: 1 });
    });

    it('stamps the attempt when it leaves, after the wait', async () => {
      const adapter = stubAdapter(() => ({ status: 200 }));
      const instance = axios.create({ adapter });
      let time = 1_000;
      const clock = { now: () => time, setTimeout, clearTimeout };
      const { step, release } = gate();
      registerLayer(instance, { name: 'gate', requestStage: 1, request: step }, clock);
      const response = instance.get('/');
      await new Promise((resolve) => setTimeout(resolve, 5));
      time = 1_500;
      release();
      await response;
      expect(getResilience(adapter.calls[0])).toEqual({ attempt: 1, firstAttemptAt: 1_000, lastAttemptAt: 1_500 });
    });

    it('re-sending the config of an answer waits again and sends once, as a second attempt', async () => {
      const adapter = stubAdapter(() => ({ status: 200 }));
      const instance = axios.create({ adapter });
      let waits = 0;
      registerLayer(instance, {
        name: 'wait',
        requestStage: 1,
        request: async (config) => {
          waits += 1;
          await new Promise((resolve) => setTimeout(resolve, 1));
          return config;
        },
      });
      const first = await instance.get('/');
      expect(first.config.adapter).toBe(adapter);
      await instance.request(first.config);
      expect(waits).toBe(2);
      expect(adapter.calls).toHaveLength(2);
      expect(getResilience(adapter.calls[1]).attempt).toBe(2);
    });

    it("rejects with the step's error, through the response steps, with nothing sent", async () => {
      const adapter = stubAdapter(() => ({ status: 200 }));
      const instance = axios.create({ adapter });
      const refused = new Error('no token within maxWaitMs');
      const seen: unknown[] = [];
      registerLayer(instance, {
        name: 'refuse',
        requestStage: 1,
        request: async () => {
          await new Promise((resolve) => setTimeout(resolve, 1));
          throw refused;
        },
        responseStage: 1,
        onResponseError: (error) => {
          seen.push(error);
          throw error;
        },
      });
      await expect(instance.post('/', { amount: 1 })).rejects.toBe(refused);
      expect(seen).toEqual([refused]);
      expect(adapter.calls).toHaveLength(0);
    });

    it('refused while its signal aborts: rejects, sends nothing, leaves no unhandled rejection', async () => {
      const adapter = stubAdapter(() => ({ status: 200 }));
      const instance = axios.create({ adapter });
      const controller = new AbortController();
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      let calls = 0;
      try {
        registerLayer(instance, {
          name: 'abort-on-first',
          requestStage: 1,
          request: (config) => {
            if (++calls > 1) return config;
            controller.abort();
            return Promise.reject(new Error('aborted while waiting'));
          },
        });
        const error = await instance.get('/', { signal: controller.signal }).catch((caught: unknown) => caught);
        expect(error).toMatchObject({ message: 'aborted while waiting' });
        await new Promise((resolve) => setTimeout(resolve, 10));
        expect(unhandled).toEqual([]);
        expect(adapter.calls).toHaveLength(0);
        await instance.get('/');
        expect(calls).toBe(2);
        expect(adapter.calls).toHaveLength(1);
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
    });

    it('waits the same beside an asynchronous interceptor of the caller', async () => {
      const adapter = stubAdapter(() => ({ status: 200 }));
      const instance = axios.create({ adapter });
      instance.interceptors.request.use(async (config) => {
        config.headers.set('X-Async', 'yes');
        return config;
      });
      const { step, release } = gate();
      registerLayer(instance, { name: 'gate', requestStage: 1, request: step });
      const response = instance.get('/');
      setTimeout(release, 5);
      await response;
      expect(adapter.calls).toHaveLength(1);
      expect(adapter.calls[0].headers.get('X-Async')).toBe('yes');
      expect(adapter.calls[0].headers.get('X-Token')).toBe('granted');
    });

    it('sends the config a waiting step returns, even a new object', async () => {
      const adapter = stubAdapter(() => ({ status: 200 }));
      const instance = axios.create({ adapter });
      registerLayer(instance, {
        name: 'replace',
        requestStage: 1,
        request: async (config) => {
          const replaced = { ...config, timeout: 4_321 } as InternalAxiosRequestConfig;
          await new Promise((resolve) => setTimeout(resolve, 1));
          return replaced;
        },
      });
      await instance.post('/', { amount: 2 });
      expect(adapter.calls[0].timeout).toBe(4_321);
      expect(JSON.parse(adapter.calls[0].data as string)).toEqual({ amount: 2 });
    });
  });
});
