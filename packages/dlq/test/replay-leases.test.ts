import axios from 'axios';
import { stubAdapter, type StubReply } from '@axios-resilience/testkit';
import {
  fileSink,
  isLeasingSink,
  memorySink,
  replay,
  type DeadLetterRecord,
  type MemorySink,
} from '@axios-resilience/dlq';
import { makeRecord } from './records';

/** An instance whose answers come from `answer(path)`, counting what reached it per path. */
function countingInstance(answer: (path: string) => StubReply = () => ({ status: 201, delayMs: 2 })) {
  const sent = new Map<string, number>();
  const instance = axios.create({
    adapter: stubAdapter((config) => {
      const path = new URL(config.url!).pathname;
      sent.set(path, (sent.get(path) ?? 0) + 1);
      return answer(path);
    }),
  });
  return { instance, sent };
}

async function filled(count: number): Promise<{ sink: MemorySink; records: DeadLetterRecord[] }> {
  const sink = memorySink();
  const records = Array.from({ length: count }, (_, index) =>
    makeRecord({ url: `https://api.example.test/orders/${index}` }),
  );
  for (const record of records) await sink.put(record);
  return { sink, records };
}

/** Every id nobody holds a lease on: claims all of them for a fresh owner, then gives them back. */
async function unleasedIds(sink: MemorySink): Promise<string[]> {
  const taken = await sink.claim({ owner: 'inspector', leaseMs: 60_000, limit: 1_000_000 });
  await Promise.all(taken.map((record) => sink.release(record.id, 'inspector')));
  return taken.map((record) => record.id);
}

describe('memorySink leases', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('claims in id order, skips held records, lets a lease run out, and only its owner releases it', async () => {
    jest.useFakeTimers({ now: Date.parse('2026-01-01T00:00:00.000Z') });
    const { sink, records } = await filled(5);
    const ids = records.map((record) => record.id);
    const claim = (owner: string, limit: number, extra: object = {}) =>
      sink.claim({ owner, leaseMs: 1_000, limit, ...extra }).then((taken) => taken.map((record) => record.id));

    expect(await claim('a', 2)).toEqual(ids.slice(0, 2));
    expect(await claim('b', 10)).toEqual(ids.slice(2));
    expect(await claim('c', 10)).toEqual([]);
    expect(await sink.release(ids[0], 'b')).toBe(false);
    expect(await sink.release(ids[0], 'a')).toBe(true);
    expect(await claim('c', 10, { ids: [ids[0], ids[1], 'missing'] })).toEqual([ids[0]]);
    jest.advanceTimersByTime(1_000);
    expect(await claim('d', 10, { after: ids[1] })).toEqual(ids.slice(2));
    expect(await sink.remove(ids[4])).toBe(true);
    await sink.put(records[4]);
    expect(await claim('e', 10, { ids: [ids[4]] })).toEqual([ids[4]]);
    // What a claim returns is a copy.
    const [copy] = await sink.claim({ owner: 'f', leaseMs: 1, limit: 1, ids: [ids[1]] });
    copy.headers.changed = 'yes';
    expect((await sink.get(ids[1]))?.headers.changed).toBeUndefined();
    await expect(sink.claim({ owner: 'g', leaseMs: 0, limit: 1 })).rejects.toThrow(/claim\.leaseMs/);
  });
});

describe('replay with a leasing sink', () => {
  it('two replays at once over one sink send each record once between them', async () => {
    const { sink } = await filled(60);
    const { instance, sent } = countingInstance((path) => ({ status: path.endsWith('7') ? 500 : 201, delayMs: 2 }));
    const [first, second] = await Promise.all([
      replay({ instance, sink, concurrency: 3 }),
      replay({ instance, sink, concurrency: 3 }),
    ]);
    expect(sent.size).toBe(60);
    expect([...sent.values()].every((times) => times === 1)).toBe(true);
    expect(first.attempted + second.attempted).toBe(60);
    expect(Math.min(first.attempted, second.attempted)).toBeGreaterThan(0);
    expect(await sink.size()).toBe(6);
    expect(await unleasedIds(sink)).toHaveLength(6);
  });

  it('with ids: a record another replayer holds is skipped as leased, a missing one as not found', async () => {
    const { sink, records } = await filled(3);
    const [held, free, sentinel] = records;
    await sink.claim({ owner: 'another-replayer', leaseMs: 60_000, limit: 1, ids: [held.id] });
    const { instance, sent } = countingInstance();
    const summary = await replay({ instance, sink, ids: [held.id, free.id, 'missing'] });
    expect(summary.results).toEqual([
      { id: held.id, outcome: 'skipped', reason: 'leased' },
      { id: free.id, outcome: 'succeeded', status: 201 },
      { id: 'missing', outcome: 'skipped', reason: 'not-found' },
    ]);
    expect([...sent.keys()]).toEqual(['/orders/1']);
    expect(await sink.release(held.id, 'another-replayer')).toBe(true);
    expect((await sink.list()).map((record) => record.id)).toEqual([held.id, sentinel.id]);
  });

  it('gives back every record it does not remove: refused, failed, and taken but never started', async () => {
    const { sink, records } = await filled(12);
    await sink.put({ ...records[0], replayable: false });
    const { instance } = countingInstance((path) => ({ status: path.endsWith('1') ? 503 : 201, delayMs: 5 }));
    const controller = new AbortController();
    const summary = await replay({
      instance,
      sink,
      concurrency: 4,
      signal: controller.signal,
      onProgress: ({ done }) => {
        if (done === 3) controller.abort();
      },
    });
    expect(summary.results.length).toBeLessThan(12);
    expect(summary.results).toContainEqual({ id: records[0].id, outcome: 'skipped', reason: 'not-replayable' });
    expect(summary.results).toContainEqual(
      expect.objectContaining({ id: records[1].id, outcome: 'failed', status: 503 }),
    );
    const left = (await sink.list()).map((record) => record.id);
    expect(left.length).toBe(12 - summary.succeeded);
    expect(await unleasedIds(sink)).toEqual(left);
  });

  it('does not send a record another replay of the same round already failed', async () => {
    const start = Date.parse('2026-02-01T10:00:00.000Z');
    let now = start;
    const clock = { now: () => now, setTimeout, clearTimeout };
    const sink = memorySink();
    const iso = (offset: number) => new Date(start + offset).toISOString();
    const triedBefore = makeRecord({
      id: 'a',
      url: 'https://api.example.test/a',
      createdAt: iso(-5_000),
      firstAttemptAt: iso(-5_000),
      replays: 1,
      lastReplay: { at: iso(-1_000), status: 503, code: null, message: 'earlier round' },
    });
    const triedMeanwhile = makeRecord({
      id: 'b',
      url: 'https://api.example.test/b',
      createdAt: iso(-5_000),
      firstAttemptAt: iso(-5_000),
      replays: 1,
      lastReplay: { at: iso(500), status: 503, code: null, message: 'the other replayer' },
    });
    await sink.put(triedBefore);
    await sink.put(triedMeanwhile);
    const { instance, sent } = countingInstance(() => {
      now = start + 1_000;
      return { status: 201 };
    });
    const summary = await replay({ instance, sink, clock });
    expect(summary.results).toEqual([
      { id: 'a', outcome: 'succeeded', status: 201 },
      { id: 'b', outcome: 'skipped', reason: 'replayed-concurrently' },
    ]);
    expect([...sent.keys()]).toEqual(['/a']);
    expect(await unleasedIds(sink)).toEqual(['b']);
  });

  it('claims in small batches as workers need them, one claim per batch', async () => {
    const { sink } = await filled(10);
    const claims: number[] = [];
    const claim = sink.claim.bind(sink);
    sink.claim = async (options) => {
      const taken = await claim(options);
      claims.push(taken.length);
      return taken;
    };
    const { instance } = countingInstance();
    const summary = await replay({ instance, sink, concurrency: 3, limit: 8 });
    expect(summary.succeeded).toBe(8);
    expect(claims).toEqual([3, 3, 2]);
    expect(await sink.size()).toBe(2);
  });

  it('a claim that fails rejects the replay, after giving back what it holds', async () => {
    const { sink } = await filled(6);
    const claim = sink.claim.bind(sink);
    let calls = 0;
    sink.claim = async (options) => {
      calls += 1;
      if (calls === 2) throw new Error('the database went away');
      return claim(options);
    };
    const { instance } = countingInstance();
    await expect(replay({ instance, sink, concurrency: 2 })).rejects.toThrow('the database went away');
    expect(await sink.size()).toBe(4);
    expect(await unleasedIds(sink)).toHaveLength(4);
  });

  it('a dry run takes no lease; a sink without claim/release is replayed as before', async () => {
    const { sink } = await filled(2);
    const claim = jest.spyOn(sink, 'claim');
    const { instance, sent } = countingInstance();
    expect(await replay({ instance, sink, dryRun: true })).toMatchObject({ attempted: 2, skipped: 0 });
    expect(claim).not.toHaveBeenCalled();
    expect(sent.size).toBe(0);

    const { claim: _claim, release: _release, ...plain } = sink;
    expect(isLeasingSink(plain)).toBe(false);
    expect(isLeasingSink(fileSink({ path: '/nonexistent/never-written.jsonl' }))).toBe(false);
    expect(await replay({ instance, sink: plain })).toMatchObject({ succeeded: 2 });
    expect(sent.size).toBe(2);
  });

  it('validates leaseMs and half a leasing pair', async () => {
    const { sink } = await filled(0);
    const instance = axios.create();
    await expect(replay({ instance, sink, leaseMs: 0 })).rejects.toThrow(/replay\.leaseMs/);
    const { release: _release, ...halfPair } = sink;
    await expect(replay({ instance, sink: halfPair })).rejects.toThrow(/replay\.sink\.claim/);
  });
});
