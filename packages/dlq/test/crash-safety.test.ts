import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileSink } from '@axios-resilience/dlq';
import { spawnTsx } from '@axios-resilience/testkit';
import { makeRecord } from './records';

const KILL_AFTER = 120;

describe('file sink crash safety', () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'dlq-crash-'));
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('keeps every record whose put resolved when the writer is killed with SIGKILL', async () => {
    const path = join(directory, 'dead-letters.jsonl');
    const child = spawnTsx(join(__dirname, 'fixtures', 'crash-writer.ts'), [path]);
    const reported: string[] = [];
    let stderr = '';
    let pending = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      reported.push(...lines.filter(Boolean));
      if (reported.length >= KILL_AFTER && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const signal = await new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('close', (_code, received) => resolve(received)),
    );
    expect(stderr).toBe('');
    expect(signal).toBe('SIGKILL');
    expect(reported.length).toBeGreaterThanOrEqual(KILL_AFTER);

    // Every line but a torn last one is whole JSON.
    const text = await readFile(path, 'utf8');
    const lines = text.split('\n');
    const last = lines.pop()!;
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    if (last !== '') expect(text.endsWith('\n')).toBe(false);

    const sink = fileSink({ path });
    const stored = new Set((await sink.list()).map((record) => record.id));
    const missing = reported.filter((id) => !stored.has(id));
    expect(missing).toEqual([]);
    expect((await sink.stats()).corruptLines).toBe(0);

    // A new writer carries on after the crash, torn tail or not.
    const next = makeRecord();
    await sink.put(next);
    await sink.close();
    const reread = fileSink({ path });
    expect(await reread.get(next.id)).toEqual(next);
    expect(await reread.size()).toBe(stored.size + 1);
  });

  it('recovers from a torn tail written mid-record', async () => {
    const path = join(directory, 'torn.jsonl');
    const sink = fileSink({ path });
    const records = [makeRecord(), makeRecord()];
    for (const record of records) await sink.put(record);
    await sink.close();
    await appendFile(path, JSON.stringify(makeRecord()).slice(0, 57));
    const reader = fileSink({ path });
    expect(await reader.list()).toEqual(records);
  });
});
