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
});
