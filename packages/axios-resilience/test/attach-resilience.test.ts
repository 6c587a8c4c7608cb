import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import axios, { type AxiosInstance } from 'axios';
import {
  attachResilience,
  attachedLayers,
  fileSink,
  getFailureSummary,
  isResilienceError,
  wasReplayed,
} from 'axios-resilience';
import { sendJson, startFlakyApi, startTestServer, stubAdapter, type FlakyApi } from '@axios-resilience/testkit';

function interceptorCount(instance: AxiosInstance): number {
  return [instance.interceptors.request, instance.interceptors.response]
    .map((manager) => (manager as unknown as { handlers: unknown[] }).handlers.filter(Boolean).length)
    .reduce((a, b) => a + b, 0);
}

const fast = { baseDelayMs: 5, jitterMs: 5 };

/** How many of this process's file descriptors point at `file` (Linux: /proc/self/fd). */
function openDescriptorsOf(file: string): number {
  return fs.readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`) === file;
    } catch {
      return false;
    }
  }).length;
}

describe('attachResilience', () => {
  let api: FlakyApi;
  afterEach(async () => {
    await api?.close();
  });

  it('turns retry and idempotency on by default, and only them', async () => {
    api = await startFlakyApi({ script: [503, 'commit-then-drop'] });
    const instance = axios.create({ baseURL: api.url });
    const attachment = attachResilience(instance, { retry: fast });
    expect(attachment.layers).toEqual(['idempotency', 'retry']);
    expect(attachedLayers(instance)).toEqual(['idempotency', 'retry']);
    const response = await instance.post('/charges', { orderId: 'o-1', amount: 500 });
    expect(wasReplayed(response)).toBe(true);
    expect(api.requests).toHaveLength(3);
    expect(new Set(api.requests.map((request) => request.idempotencyKey)).size).toBe(1);
    expect(api.ledger).toHaveLength(1);
  });

  it('builds the in-memory limiter from the { limit, intervalMs } shorthand', async () => {
    const adapter = stubAdapter(() => ({ status: 200 }));
    const instance = axios.create({ adapter, baseURL: 'https://api.example.test' });
    const attachment = attachResilience(instance, { rateLimit: { limit: 2, intervalMs: 300 } });
    expect(attachment.layers).toEqual(['idempotency', 'rate-limit', 'retry']);
    const startedAt = Date.now();
    const finished: number[] = [];
    await Promise.all([1, 2, 3].map(() => instance.get('/x').then(() => finished.push(Date.now() - startedAt))));
    finished.sort((a, b) => a - b);
    expect(finished[1]).toBeLessThan(250);
    expect(finished[2]).toBeGreaterThanOrEqual(300);
  });

  it('deadLetter: true writes to ./dead-letters.jsonl in the working directory', async () => {
    const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'axios-resilience-cwd-'));
    const previous = process.cwd();
    process.chdir(workdir);
    try {
      api = await startFlakyApi({ script: [422] });
      const instance = axios.create({ baseURL: api.url });
      const resilience = attachResilience(instance, { deadLetter: true, retry: fast });
      const error = await instance.post('/charges', { orderId: 'o-2' }).catch((caught: unknown) => caught);
      expect(getFailureSummary(error)?.deadLetterId).toEqual(expect.any(String));
      const file = path.join(fs.realpathSync(workdir), 'dead-letters.jsonl');
      const sink = fileSink({ path: file });
      const records = await sink.list();
      expect(records.map((record) => [record.url, record.reason])).toEqual([[`${api.url}/charges`, 'not-retryable']]);
      await sink.close?.();
      // The sink attachResilience made keeps its append handle open; eject() closes it (nobody else can).
      expect(openDescriptorsOf(file)).toBe(1);
      resilience.eject();
      for (let tries = 0; openDescriptorsOf(file) > 0 && tries < 100; tries += 1) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(openDescriptorsOf(file)).toBe(0);
    } finally {
      process.chdir(previous);
      fs.rmSync(workdir, { recursive: true, force: true });
    }
  });

  it('rejects unknown layers and bad values, and a bad layer option leaves nothing attached', () => {
    const instance = axios.create();
    const before = interceptorCount(instance);
    expect(() => attachResilience(instance, { retries: {} } as never)).toThrow(/retries: unknown option/);
    expect(() => attachResilience(instance, { retry: 5 } as never)).toThrow(
      /retry: expected an options object or false, got 5/,
    );
    expect(() => attachResilience(instance, { retry: { maxRetries: -1 } })).toThrow(TypeError);
    expect(() => attachResilience(instance, { rateLimit: { limit: 0, intervalMs: 1000 } })).toThrow(TypeError);
    expect(interceptorCount(instance)).toBe(before);
    expect(attachedLayers(instance)).toEqual([]);
  });

  it('refuses chaos under NODE_ENV=production unless allowed, attaching nothing', () => {
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      const instance = axios.create();
      let caught: unknown;
      try {
        attachResilience(instance, { chaos: { rate: 0.1 } });
      } catch (error) {
        caught = error;
      }
      expect(isResilienceError(caught) && caught.code).toBe('ERR_CHAOS_REFUSED');
      expect((caught as Error).message).toMatch(/production/);
      expect(attachedLayers(instance)).toEqual([]);
      const allowed = attachResilience(instance, { chaos: { rate: 0.1, allowInProduction: true } });
      expect(allowed.layers).toContain('chaos');
    } finally {
      process.env.NODE_ENV = previous;
    }
  });

  it('eject() removes every interceptor of every layer', () => {
    const instance = axios.create();
    const before = interceptorCount(instance);
    const attachment = attachResilience(instance, {
      rateLimit: { limit: 5, intervalMs: 1000 },
      deadLetter: {
        sink: {
          put: async () => undefined,
          get: async () => undefined,
          list: async () => [],
          remove: async () => false,
          size: async () => 0,
        } as never,
      },
      chaos: { rate: 0 },
    });
    expect(attachment.layers).toHaveLength(5);
    attachment.eject();
    expect(interceptorCount(instance)).toBe(before);
    expect(attachedLayers(instance)).toEqual([]);
  });

  it.each(['before', 'after'] as const)(
    "composes with the user's own auth refresh interceptors registered %s the pipeline",
    async (when) => {
      let validToken = 'token-1';
      const server = await startTestServer((request, response) => {
        if (request.headers.authorization !== `Bearer ${validToken}`)
          return sendJson(response, 401, { error: 'expired' });
        if (request.url === '/flaky' && server.requests.filter((r) => r.url === '/flaky').length < 4) {
          return sendJson(response, 503, {});
        }
        sendJson(response, 201, { ok: true });
      });
      try {
        const instance = axios.create({ baseURL: server.url });
        let token = 'token-1';
        let refreshes = 0;
        const installUserInterceptors = () => {
          instance.interceptors.request.use((config) => {
            config.headers.set('Authorization', `Bearer ${token}`);
            return config;
          });
          instance.interceptors.response.use(undefined, async (error) => {
            const config = error.config as { _refreshed?: boolean } & Parameters<AxiosInstance['request']>[0];
            if (error.response?.status === 401 && !config._refreshed) {
              refreshes += 1;
              token = validToken;
              config._refreshed = true;
              return instance.request(config);
            }
            throw error;
          });
        };
        if (when === 'before') installUserInterceptors();
        attachResilience(instance, { retry: fast });
        if (when === 'after') installUserInterceptors();

        validToken = 'token-2';
        const response = await instance.post('/flaky', { orderId: 'o-3' });
        expect(response.status).toBe(201);
        expect(refreshes).toBe(1);
        const attempts = server.requests.filter((request) => request.url === '/flaky');
        // One 401 with the stale token, then 503, 503 and the success with the fresh one.
        expect(attempts.map((request) => request.headers.authorization)).toEqual([
          'Bearer token-1',
          'Bearer token-2',
          'Bearer token-2',
          'Bearer token-2',
        ]);
        expect(new Set(attempts.map((request) => request.headers['idempotency-key'])).size).toBe(1);
        expect(attempts.every((request) => request.headers.authorization?.split(',').length === 1)).toBe(true);
      } finally {
        await server.close();
      }
    },
  );
});
