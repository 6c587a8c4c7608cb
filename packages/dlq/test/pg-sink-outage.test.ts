import { join } from 'node:path';
import axios, { type AxiosError } from 'axios';
import { Pool } from 'pg';
import { isResilienceError, type FailureSummary } from '@axios-resilience/core';
import { startPostgres, stubAdapter, spawnTsx } from '@axios-resilience/testkit';
import { attachDeadLetter, pgSink, replay } from '@axios-resilience/dlq';

type Failed = AxiosError & { resilience?: FailureSummary };

// Each test stops its own database, so each starts one.
describe('a PostgreSQL sink whose database goes away mid-run', () => {
  it('the failing POST still reaches the caller with its original error and deadLetterError, before sinkTimeoutMs', async () => {
    const server = await startPostgres();
    const pool = new Pool({ connectionString: server.url, connectionTimeoutMillis: 500 });
    // As pg asks of every pool owner: idle connections die with the server and report it here.
    const poolErrors: Error[] = [];
    pool.on('error', (error) => poolErrors.push(error));
    try {
      const sink = pgSink({ pool, table: 'outage' });
      const onSinkError = jest.fn();
      const instance = axios.create({
        baseURL: 'https://api.example.test',
        adapter: stubAdapter(() => ({ status: 503, data: 'unavailable' })),
      });
      attachDeadLetter(instance, { sink, sinkTimeoutMs: 3_000, onSinkError });

      const stored = (await instance.post('/charges', { order: 1 }).catch((caught: unknown) => caught)) as Failed;
      expect(stored.resilience?.deadLetterId).toEqual(expect.any(String));
      expect(await sink.size()).toBe(1);

      await server.stop();

      const failed = (await instance.post('/charges', { order: 2 }).catch((caught: unknown) => caught)) as Failed;
      expect(axios.isAxiosError(failed)).toBe(true);
      expect(failed.response?.status).toBe(503);
      expect(failed.resilience).toMatchObject({ attempts: 1, reason: 'not-retryable' });
      expect(failed.resilience?.deadLetterId).toBeUndefined();
      const sinkError = failed.resilience?.deadLetterError as Error & { code?: string; cause?: unknown };
      expect(isResilienceError(sinkError)).toBe(true);
      // The sink's own failure, not the timeout: it arrived before sinkTimeoutMs ran out.
      expect(sinkError.code).toBe('ERR_DEAD_LETTER_SINK');
      expect(sinkError.message).toMatch(/^the dead-letter sink failed: .*(ECONNREFUSED|shutting down|terminat)/);
      expect(onSinkError).toHaveBeenCalledWith(expect.objectContaining({ during: 'put', failure: failed }));

      // A replay against the dead database fails as a rejection, not a hang or a crash.
      await expect(replay({ instance, sink })).rejects.toThrow();
    } finally {
      await pool.end();
      await server.stop();
    }
  }, 60_000);

  it('keeps a host process running: its own pool losing the database crashes nothing', async () => {
    const server = await startPostgres();
    try {
      const child = spawnTsx(join(__dirname, 'fixtures', 'pg-outage-host.ts'), [server.url]);
      let stdout = '';
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      await new Promise<void>((resolve) => {
        child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
          stdout += chunk;
          if (stdout.includes('stored ')) resolve();
        });
        void exited.then(() => resolve());
      });
      expect(stdout).toMatch(/^stored [0-9a-f-]{36}\n/);

      await server.stop();
      const code = await exited;

      expect(stderr).toBe('');
      expect(code).toBe(0);
      const last = stdout.trim().split('\n').pop()!;
      expect(JSON.parse(last)).toEqual({
        outcomes: Array.from({ length: 3 }, () => ({ status: 503, code: 'ERR_DEAD_LETTER_SINK' })),
        alive: true,
      });
    } finally {
      await server.stop();
    }
  }, 90_000);
});
