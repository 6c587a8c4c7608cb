import type { DeadLetterSink } from '@axios-resilience/dlq';
import { makeRecord } from './records';

/** A fresh, empty sink for one test, and how to dispose of it. */
export type SinkFactory = () => Promise<{ sink: DeadLetterSink; dispose?: () => Promise<void> }>;

/**
 * The behaviour every sink must have, whatever stores it. Each sink's test file runs this suite with its
 * own factory, so memory, file and Redis sinks are held to exactly the same contract.
 */
export function describeSinkContract(name: string, create: SinkFactory): void {
  describe(`${name}: the sink contract`, () => {
    let sink: DeadLetterSink;
    let dispose: (() => Promise<void>) | undefined;

    beforeEach(async () => {
      ({ sink, dispose } = await create());
    });

    afterEach(async () => {
      await sink.close?.();
      await dispose?.();
    });

    it('starts empty', async () => {
      expect(await sink.size()).toBe(0);
      expect(await sink.list()).toEqual([]);
      expect(await sink.get('no-such-id')).toBeUndefined();
    });

    it('gives back exactly what was put, as a copy the caller may change', async () => {
      const record = makeRecord();
      await sink.put(record);
      const stored = await sink.get(record.id);
      expect(stored).toEqual(record);
      stored!.headers['x-changed'] = 'yes';
      stored!.redacted.push('tampered');
      expect(await sink.get(record.id)).toEqual(record);
    });

    it('keeps bytes, unicode and nulls intact', async () => {
      const bytes = Uint8Array.from({ length: 70_000 }, (_, index) => (index * 7919) % 256);
      const record = makeRecord({
        body: Buffer.from(bytes).toString('base64'),
        bodyEncoding: 'base64',
        idempotencyKey: null,
        firstAttemptAt: null,
        lastAttemptAt: null,
        headers: { 'x-note': 'línea "uno"\\dos \u2028 \ud83d\ude00' },
        error: { code: null, message: 'a\nb', status: null, responseHeaders: {}, responseBody: null },
        lastReplay: { at: new Date().toISOString(), status: 500, code: 'ERR_BAD_RESPONSE', message: 'boom' },
        replays: 2,
      });
      await sink.put(record);
      expect(await sink.get(record.id)).toEqual(record);
      expect((await sink.list())[0]).toEqual(record);
    });

    it('replaces a record put again under the same id, in place', async () => {
      const first = makeRecord();
      const second = makeRecord();
      await sink.put(first);
      await sink.put(second);
      const updated = {
        ...first,
        replays: 1,
        lastReplay: { at: first.createdAt, status: 503, code: null, message: 'x' },
      };
      await sink.put(updated);
      expect(await sink.size()).toBe(2);
      expect(await sink.get(first.id)).toEqual(updated);
      expect((await sink.list()).map((record) => record.id)).toEqual([first.id, second.id]);
    });

    it('lists in ascending id order whatever the order of puts', async () => {
      const ids = ['c-3', 'a-1', 'e-5', 'b-2', 'd-4'];
      for (const id of ids) await sink.put(makeRecord({ id }));
      expect((await sink.list()).map((record) => record.id)).toEqual(['a-1', 'b-2', 'c-3', 'd-4', 'e-5']);
    });

    it('pages with limit and an exclusive after cursor, even past a removed id', async () => {
      const ids = Array.from({ length: 12 }, (_, index) => `id-${String(index).padStart(2, '0')}`);
      for (const id of [...ids].reverse()) await sink.put(makeRecord({ id }));
      expect((await sink.list({ limit: 5 })).map((record) => record.id)).toEqual(ids.slice(0, 5));
      expect((await sink.list({ limit: 5, after: ids[4] })).map((record) => record.id)).toEqual(ids.slice(5, 10));
      expect((await sink.list({ limit: 5, after: ids[9] })).map((record) => record.id)).toEqual(ids.slice(10));
      expect(await sink.list({ limit: 0 })).toEqual([]);
      await sink.remove(ids[4]);
      expect((await sink.list({ limit: 2, after: ids[4] })).map((record) => record.id)).toEqual(ids.slice(5, 7));
      expect((await sink.list({ after: 'id-99' })).length).toBe(0);
    });

    it('removes once: true for a record, false afterwards and for unknown ids', async () => {
      const kept = makeRecord();
      const gone = makeRecord();
      await sink.put(kept);
      await sink.put(gone);
      expect(await sink.remove(gone.id)).toBe(true);
      expect(await sink.remove(gone.id)).toBe(false);
      expect(await sink.remove('never-there')).toBe(false);
      expect(await sink.get(gone.id)).toBeUndefined();
      expect(await sink.size()).toBe(1);
      expect((await sink.list()).map((record) => record.id)).toEqual([kept.id]);
    });

    it('a removed id can be stored again', async () => {
      const record = makeRecord();
      await sink.put(record);
      await sink.remove(record.id);
      await sink.put({ ...record, replays: 3 });
      expect((await sink.get(record.id))?.replays).toBe(3);
      expect(await sink.size()).toBe(1);
    });

    it('takes concurrent puts and removes without losing any', async () => {
      const records = Array.from({ length: 60 }, () => makeRecord());
      await Promise.all(records.map((record) => sink.put(record)));
      expect(await sink.size()).toBe(60);
      await Promise.all(records.slice(0, 30).map((record) => sink.remove(record.id)));
      expect((await sink.list()).map((record) => record.id)).toEqual(records.slice(30).map((record) => record.id));
    });

    it('refuses something that is not a record', async () => {
      await expect(sink.put({ nope: true } as never)).rejects.toThrow(TypeError);
      expect(await sink.size()).toBe(0);
    });
  });
}
