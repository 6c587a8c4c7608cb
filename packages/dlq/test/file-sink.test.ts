import { appendFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileSink, type FileSink } from '@axios-resilience/dlq';
import { describeSinkContract } from './sink-contract';
import { makeRecord } from './records';

let directory: string;
let counter = 0;
const nextPath = () => join(directory, `sink-${(counter += 1)}`, 'dead-letters.jsonl');

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'dlq-file-sink-'));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describeSinkContract('fileSink', async () => ({ sink: fileSink({ path: nextPath() }) }));

// The same contract with a fresh sink object for every read, as a separate reading process would see it.
describeSinkContract('fileSink read back by a second instance', async () => {
  const path = nextPath();
  const writer = fileSink({ path });
  const reader = () => fileSink({ path });
  return {
    sink: {
      put: (record) => writer.put(record),
      remove: (id) => writer.remove(id),
      get: (id) => reader().get(id),
      list: (options) => reader().list(options),
      size: () => reader().size(),
      close: () => writer.close(),
    },
  };
});

async function lines(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8')).split('\n').filter((line) => line.length > 0);
}

describe('fileSink on disk', () => {
  let sink: FileSink;
  afterEach(async () => {
    await sink?.close();
  });

  it('creates the file and its directory on the first put, one JSON record per line', async () => {
    const path = nextPath();
    sink = fileSink({ path });
    expect(await sink.size()).toBe(0);
    await expect(stat(path)).rejects.toThrow();
    const record = makeRecord();
    await sink.put(record);
    expect((await lines(path)).map((line) => JSON.parse(line))).toEqual([record]);
  });

  it('appends a tombstone on remove and never rewrites earlier lines', async () => {
    const path = nextPath();
    sink = fileSink({ path });
    const first = makeRecord();
    const second = makeRecord();
    await sink.put(first);
    await sink.put(second);
    const before = await readFile(path, 'utf8');
    await sink.remove(first.id);
    const after = await readFile(path, 'utf8');
    expect(after.startsWith(before)).toBe(true);
    expect(JSON.parse((await lines(path))[2])).toMatchObject({ tombstone: first.id });
    expect(await fileSink({ path }).list()).toEqual([second]);
  });

  it('tolerates a torn last line, and keeps it from corrupting the next record', async () => {
    const path = nextPath();
    sink = fileSink({ path });
    const whole = makeRecord();
    await sink.put(whole);
    await sink.close();
    const torn = JSON.stringify(makeRecord()).slice(0, 120);
    await appendFile(path, torn);

    sink = fileSink({ path });
    expect(await sink.list()).toEqual([whole]);
    const next = makeRecord();
    await sink.put(next);
    expect((await fileSink({ path }).list()).map((record) => record.id)).toEqual([whole.id, next.id]);
    expect(await fileSink({ path }).stats()).toMatchObject({ records: 2, corruptLines: 1 });
  });

  it('skips lines that are not records', async () => {
    const path = nextPath();
    const record = makeRecord();
    sink = fileSink({ path });
    await sink.put(record);
    await appendFile(path, 'not json\n{"hello":"world"}\n\n');
    const other = makeRecord();
    await sink.put(other);
    const reader = fileSink({ path });
    expect((await reader.list()).map((entry) => entry.id)).toEqual([record.id, other.id]);
    expect(await reader.stats()).toMatchObject({ records: 2, corruptLines: 2, garbageLines: 2 });
  });

  it('a reader that stays open sees later puts and removals', async () => {
    const path = nextPath();
    sink = fileSink({ path });
    const reader = fileSink({ path });
    const first = makeRecord();
    await sink.put(first);
    expect(await reader.size()).toBe(1);
    const second = makeRecord();
    await sink.put(second);
    await sink.remove(first.id);
    expect((await reader.list()).map((record) => record.id)).toEqual([second.id]);
  });

  it('compact() rewrites only live records; open readers notice the new file', async () => {
    const path = nextPath();
    sink = fileSink({ path, compactThreshold: false });
    const reader = fileSink({ path });
    const records = Array.from({ length: 10 }, () => makeRecord());
    for (const record of records) await sink.put(record);
    for (const record of records.slice(0, 7)) await sink.remove(record.id);
    await sink.put({ ...records[8], replays: 4 });
    expect(await reader.size()).toBe(3);
    expect((await lines(path)).length).toBe(18);

    await sink.compact();
    expect((await lines(path)).map((line) => JSON.parse(line).id)).toEqual(records.slice(7).map((record) => record.id));
    expect((await reader.list()).map((record) => record.replays)).toEqual([0, 4, 0]);
    const later = makeRecord();
    await sink.put(later);
    expect(await reader.size()).toBe(4);
    expect((await lines(path)).length).toBe(4);
  });

  it('compacts on its own once garbage passes the threshold and outweighs live records', async () => {
    const path = nextPath();
    sink = fileSink({ path, compactThreshold: 10 });
    const records = Array.from({ length: 12 }, () => makeRecord());
    await Promise.all(records.map((record) => sink.put(record)));
    for (const record of records.slice(0, 4)) await sink.remove(record.id);
    // Compaction runs after the write resolves; a read queues behind it.
    expect(await sink.size()).toBe(8);
    expect((await lines(path)).length).toBe(16);
    await sink.remove(records[4].id);
    // The fifth removal makes 10 garbage lines against 7 live records.
    expect(await sink.size()).toBe(7);
    expect((await lines(path)).map((line) => JSON.parse(line).id)).toEqual(records.slice(5).map((record) => record.id));
  });

  it('refuses writes after close but can still be read', async () => {
    const path = nextPath();
    sink = fileSink({ path });
    const record = makeRecord();
    await sink.put(record);
    await sink.close();
    await expect(sink.put(makeRecord())).rejects.toThrow(/closed/);
    expect(await sink.get(record.id)).toEqual(record);
  });

  it('validates its options', () => {
    expect(() => fileSink({ path: '' })).toThrow(/fileSink.path/);
    expect(() => fileSink({ path: 'x', compactThreshold: 0 })).toThrow(/compactThreshold/);
    expect(() => fileSink({ path: 'x', fsync: 'yes' } as never)).toThrow(/fileSink.fsync/);
    expect(() => fileSink({ path: 'x', pth: 'y' } as never)).toThrow(/pth: unknown option/);
  });
});
