/**
 * The oldest axios the packages accept (the peer range starts at 1.6.0). Its interceptor code differs from
 * today's: there a synchronous interceptor that throws becomes a TypeError that no response interceptor
 * sees, which is one reason core's interceptor stays asynchronous. These run core's chain on an axios 1.6.0
 * instance (core's own helpers still come from the installed axios).
 */
import oldestAxios from 'axios-1.6';
import type { AxiosInstance, InternalAxiosRequestConfig } from 'axios';
import { getResilience, registerLayer } from '@axios-resilience/core';

/** An instance of axios 1.6.0 with an adapter that answers 200 and records each config it is given. */
function oldestInstance() {
  const calls: InternalAxiosRequestConfig[] = [];
  // Plain headers: the testkit's stub builds today's AxiosHeaders, which 1.6.0 does not read.
  const adapter = async (config: InternalAxiosRequestConfig) => {
    calls.push(config);
    return { status: 200, statusText: 'OK', headers: {}, data: null, config, request: {} };
  };
  // The two versions' instance types differ only in details core does not touch.
  const instance = oldestAxios.create({ adapter: adapter as never }) as unknown as AxiosInstance;
  return { instance, adapter: { calls } };
}

describe('on axios 1.6.0, the oldest the peer range allows', () => {
  it('runs the steps and stamps the attempt', async () => {
    const { instance, adapter } = oldestInstance();
    registerLayer(instance, {
      name: 'header',
      requestStage: 1,
      request: (config) => {
        config.headers.set('X-Layer', 'ran');
        return config;
      },
    });
    await instance.get('/');
    expect(adapter.calls).toHaveLength(1);
    expect(adapter.calls[0].headers.get('X-Layer')).toBe('ran');
    expect(getResilience(adapter.calls[0]).attempt).toBe(1);
  });

  it('rejects with the error a step throws, through the response steps, with nothing sent', async () => {
    const { instance, adapter } = oldestInstance();
    const refused = new Error('this key was used for another request');
    const seen: unknown[] = [];
    registerLayer(instance, {
      name: 'refuse',
      requestStage: 1,
      request: () => {
        throw refused;
      },
      responseStage: 1,
      onResponseError: (error) => {
        seen.push(error);
        throw error;
      },
    });
    let outcome: Promise<unknown> | undefined;
    expect(() => (outcome = instance.post('/', { amount: 1 }))).not.toThrow();
    await expect(outcome).rejects.toBe(refused);
    expect(seen).toEqual([refused]);
    expect(adapter.calls).toHaveLength(0);
  });

  it('holds the request until a step that waits is done, then sends it once', async () => {
    const { instance, adapter } = oldestInstance();
    let release!: () => void;
    const opened = new Promise<void>((resolve) => (release = resolve));
    registerLayer(instance, {
      name: 'gate',
      requestStage: 1,
      request: async (config: InternalAxiosRequestConfig) => {
        await opened;
        config.headers.set('X-Token', 'granted');
        return config;
      },
    });
    const response = instance.post('/', { amount: 3 });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(adapter.calls).toHaveLength(0);
    release();
    await response;
    expect(adapter.calls).toHaveLength(1);
    expect(adapter.calls[0].headers.get('X-Token')).toBe('granted');
    expect(JSON.parse(adapter.calls[0].data as string)).toEqual({ amount: 3 });
  });
});
