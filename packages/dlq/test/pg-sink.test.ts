import axios from 'axios';
import { Pool } from 'pg';
import {
  sendJson,
  startPostgres,
  startTestServer,
  type PostgresServer,
  type TestServer,
} from '@axios-resilience/testkit';
import {
  pgSink,
  pgSinkSchema,
  replay,
  replayRequest,
  type DeadLetterSink,
  type PgQueryable,
} from '@axios-resilience/dlq';
import { describeSinkContract } from './sink-contract';
import { makeRecord } from './records';

let server: PostgresServer;
let pool: Pool;
let tables = 0;

const freshTable = () => `dead_letters_${(tables += 1)}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  server = await startPostgres();
  pool = new Pool({ connectionString: server.url, max: 12 });
  // As in any application: an idle connection the server closes is dropped by the pool, not a crash.
  pool.on('error', () => undefined);
}, 60_000);

afterAll(async () => {
  await pool?.end();
  await server?.stop();
});

describeSinkContract('pgSink', async () => {
  const table = freshTable();
  return {
    sink: pgSink({ pool, table }),
    dispose: async () => {
      await pool.query(`DROP TABLE IF EXISTS "${table}"`);
    },
  };
});

/** A pool that counts the statements it is given: one per operation is one round trip per operation. */
function countingPool(): PgQueryable & { statements: string[] } {
  const statements: string[] = [];
  return {
    statements,
    query: (text, values) => {
      statements.push(text);
      return pool.query(text, values) as never;
    },
  };
}

describe('pgSink in PostgreSQL', () => {
  it("keeps the record's fields in columns and the whole record as jsonb", async () => {
    const table = freshTable();
    const sink = pgSink({ pool, table });
    const record = makeRecord({ idempotencyKey: 'key-77', attempts: 4, reason: 'retries-exhausted' });
    const noStatus = makeRecord({
      idempotencyKey: null,
      replayable: false,
      error: { ...record.error, status: null, code: 'ECONNRESET' },
    });
    await sink.put(record);
    await sink.put(noStatus);
    await sink.put({ ...record, replays: 2 });

    const { rows } = await pool.query(`SELECT *, record->>'id' AS record_id FROM "${table}" ORDER BY id`);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toEqual({
      id: record.id,
      created_at: new Date(record.createdAt),
      method: 'POST',
      url: record.url,
      reason: 'retries-exhausted',
      status: 503,
      attempts: 4,
      idempotency_key: 'key-77',
      replays: 2,
      replayable: true,
      lease_owner: null,
      leased_until: null,
      record: { ...record, replays: 2 },
      record_id: record.id,
    });
    expect(rows[1]).toMatchObject({ id: noStatus.id, status: null, idempotency_key: null, replayable: false });
  });

  it('makes its table on first use, with byte-order ids and a (created_at, id) index, then one statement per operation', async () => {
    const table = freshTable();
    const counting = countingPool();
    const sink = pgSink({ pool: counting, table });
    const record = makeRecord();

    await sink.put(record);
    expect(counting.statements).toHaveLength(2);
    expect(counting.statements[0]).toBe(pgSinkSchema(table));
    counting.statements.length = 0;

    await sink.get(record.id);
    await sink.list();
    await sink.list({ limit: 1, after: 'a' });
    await sink.size();
    const [claimed] = await sink.claim({ owner: 'me', leaseMs: 60_000, limit: 1 });
    await sink.release(claimed.id, 'me');
    await sink.remove(record.id);
    expect(counting.statements).toHaveLength(7);

    const { rows: columns } = await pool.query(
      `SELECT collation_name FROM information_schema.columns WHERE table_name = $1 AND column_name = 'id'`,
      [table],
    );
    expect(columns).toEqual([{ collation_name: 'C' }]);
    const { rows: indexes } = await pool.query(`SELECT indexdef FROM pg_indexes WHERE tablename = $1`, [table]);
    expect(indexes.map((index) => index.indexdef)).toContainEqual(
      expect.stringContaining(`ON public.${table} USING btree (created_at, id)`),
    );
  });

  it('lists ids in plain string order whatever the case or punctuation', async () => {
    const sink = pgSink({ pool, table: freshTable() });
    const ids = ['b', 'B', '_x', 'a-1', 'a1', 'A', 'a_1', 'Z9', 'z'];
    for (const id of ids) await sink.put(makeRecord({ id }));
    const expected = [...ids].sort();
    expect((await sink.list()).map((record) => record.id)).toEqual(expected);
    expect((await sink.list({ after: 'a-1' })).map((record) => record.id)).toEqual(expected.filter((id) => id > 'a-1'));
  });

  it('runs on a schema made by hand from pgSinkSchema (createTable: false), and never creates one itself', async () => {
    const missing = pgSink({ pool, table: 'never_created', createTable: false });
    await expect(missing.size()).rejects.toMatchObject({ code: '42P01' });
    const { rows: none } = await pool.query(`SELECT to_regclass('never_created') AS found`);
    expect(none).toEqual([{ found: null }]);

    const schema = pgSinkSchema('ops.dead_letters');
    expect(schema).toContain('CREATE TABLE IF NOT EXISTS "ops"."dead_letters"');
    await pool.query('CREATE SCHEMA ops');
    await pool.query(schema);
    await pool.query(schema); // a migration may run twice

    const counting = countingPool();
    const sink = pgSink({ pool: counting, table: 'ops.dead_letters', createTable: false });
    const record = makeRecord();
    await sink.put(record);
    expect(counting.statements).toHaveLength(1);
    expect(await sink.get(record.id)).toEqual(record);
    expect((await sink.claim({ owner: 'o', leaseMs: 1_000, limit: 5 })).map((claimed) => claimed.id)).toEqual([
      record.id,
    ]);
    const { rows } = await pool.query('SELECT id, lease_owner FROM ops.dead_letters');
    expect(rows).toEqual([{ id: record.id, lease_owner: 'o' }]);
  });

  it('several sinks creating the same table at once all succeed', async () => {
    // PostgreSQL reports a lost race on CREATE TABLE IF NOT EXISTS in more than one way (the table, its row
    // type, or its catalog entry already there), each only now and then: several rounds meet them all.
    for (let round = 0; round < 8; round++) {
      const table = freshTable();
      const sinks = Array.from({ length: 8 }, () => pgSink({ pool, table }));
      await Promise.all(sinks.map((sink) => sink.put(makeRecord())));
      expect(await sinks[0].size()).toBe(8);
    }
  });

  it('stores what jsonb refuses: a NUL or a lone surrogate in a text body becomes base64 of the same bytes', async () => {
    const sink = pgSink({ pool, table: freshTable() });
    const body = 'nul:\u0000 lone:\ud800 pair:\ud83d\ude00';
    const record = makeRecord({
      body,
      bodyEncoding: 'utf8',
      headers: { 'x-odd': 'a\u0000b' },
      error: { ...makeRecord().error, responseBody: 'bin\u0000ary\udc00', message: 'm\u0000' },
    });
    await sink.put(record);
    const stored = await sink.get(record.id);
    expect(stored?.bodyEncoding).toBe('base64');
    const sent = Buffer.from(replayRequest(record).data as string, 'utf8');
    expect(Buffer.from(replayRequest(stored!).data as ArrayBuffer)).toEqual(sent);
    expect(stored?.headers['x-odd']).toBe('a\ufffdb');
    expect(stored?.error.responseBody).toBe('bin\ufffdary\ufffd');
    expect(stored?.error.message).toBe('m\ufffd');
    expect({ ...stored, body: null, bodyEncoding: null, headers: {}, error: null }).toEqual({
      ...record,
      body: null,
      bodyEncoding: null,
      headers: {},
      error: null,
    });
  });

  it('leases: claimers never share a record, a lease runs out, and only its owner releases it', async () => {
    const sink = pgSink({ pool, table: freshTable() });
    const records = Array.from({ length: 10 }, () => makeRecord());
    for (const record of records) await sink.put(record);
    const ids = records.map((record) => record.id);
    const claim = (owner: string, limit: number, extra: object = {}) =>
      sink.claim({ owner, leaseMs: 60_000, limit, ...extra }).then((taken) => taken.map((record) => record.id));

    expect(await claim('a', 4)).toEqual(ids.slice(0, 4));
    expect(await claim('b', 100)).toEqual(ids.slice(4));
    expect(await claim('a', 100)).toEqual([]);
    expect(await sink.release(ids[0], 'b')).toBe(false);
    expect(await sink.release(ids[0], 'a')).toBe(true);
    expect(await sink.release(ids[0], 'a')).toBe(false);
    expect(await claim('b', 100, { ids: [ids[0], ids[1], 'missing'] })).toEqual([ids[0]]);
    await sink.release(ids[5], 'b');
    await sink.release(ids[6], 'b');
    expect(await claim('c', 100, { after: ids[5] })).toEqual([ids[6]]);

    // Leases do not hide records from reading, and removing a record ends its lease.
    expect(await sink.size()).toBe(10);
    expect((await sink.get(ids[1]))?.id).toBe(ids[1]);
    expect(await sink.remove(ids[1])).toBe(true);

    const late = makeRecord({ id: `${ids[9]}-late` });
    await sink.put(late);
    expect(await sink.claim({ owner: 'x', leaseMs: 150, limit: 1, ids: [late.id] })).toHaveLength(1);
    expect(await sink.claim({ owner: 'y', leaseMs: 60_000, limit: 1, ids: [late.id] })).toEqual([]);
    await sleep(300);
    expect(await sink.claim({ owner: 'y', leaseMs: 60_000, limit: 1, ids: [late.id] })).toEqual([late]);
    await expect(sink.claim({ owner: '', leaseMs: 1, limit: 1 })).rejects.toThrow(/claim\.owner/);
  });

  it('twenty claimers at once take 100 records between them, each exactly once (FOR UPDATE SKIP LOCKED)', async () => {
    const table = freshTable();
    const sink = pgSink({ pool, table });
    const records = Array.from({ length: 100 }, () => makeRecord({ body: null, bodyEncoding: null }));
    await Promise.all(records.map((record) => sink.put(record)));
    // Separate sinks (as separate processes would have), each claiming until nothing is left.
    const claimers = Array.from({ length: 20 }, () => pgSink({ pool, table, createTable: false }).claim);
    const taken = await Promise.all(
      claimers.map(async (claim, index) => {
        const mine: string[] = [];
        for (;;) {
          const batch = await claim({ owner: `claimer-${index}`, leaseMs: 60_000, limit: 3 });
          if (batch.length === 0) return mine;
          mine.push(...batch.map((record) => record.id));
        }
      }),
    );
    const all = taken.flat();
    expect(all).toHaveLength(100);
    expect(new Set(all).size).toBe(100);
    expect(taken.filter((mine) => mine.length > 0).length).toBeGreaterThan(1);
    const { rows } = await pool.query(`SELECT count(DISTINCT lease_owner)::int AS owners FROM "${table}"`);
    expect(rows[0].owners).toBe(taken.filter((mine) => mine.length > 0).length);
  });

  it('a sink made from a connectionString owns its pool: close() ends its connections', async () => {
    const application = `dlq-owned-${Date.now()}`;
    const sink = pgSink({
      connectionString: server.url,
      table: freshTable(),
      poolSettings: { application_name: application },
    });
    const record = makeRecord();
    await sink.put(record);
    expect(await sink.get(record.id)).toEqual(record);
    const connections = async () => {
      const { rows } = await pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1`, [
        application,
      ]);
      return rows[0].n as number;
    };
    expect(await connections()).toBeGreaterThan(0);
    await sink.close();
    await sink.close();
    for (let waited = 0; waited < 5_000 && (await connections()) > 0; waited += 50) await sleep(50);
    expect(await connections()).toBe(0);
    await expect(sink.size()).rejects.toThrow(/closed/);
  });

  it('validates its options with TypeErrors naming the option', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{}, /pgSink\.pool: expected a pg Pool/],
      [{ pool: {} }, /pgSink\.pool: expected a pg Pool/],
      [{ pool, connectionString: server.url }, /pgSink\.pool: expected either pool or connectionString/],
      [{ connectionString: '' }, /pgSink\.connectionString/],
      [{ pool, table: 'drop table x;--' }, /pgSink\.table: expected a SQL identifier/],
      [{ pool, table: 'a.b.c' }, /pgSink\.table/],
      [{ pool, table: '1abc' }, /pgSink\.table/],
      [{ pool, table: `t${'x'.repeat(63)}` }, /pgSink\.table/],
      [{ pool, table: 'with"quote' }, /pgSink\.table/],
      [{ pool, createTable: 'yes' }, /pgSink\.createTable/],
      [{ pool, poolSettings: { max: 1 } }, /pgSink\.poolSettings/],
      [{ connectionString: server.url, poolSettings: 'x' }, /pgSink\.poolSettings/],
      [{ pool, tableName: 'x' }, /pgSink\.tableName: unknown option/],
    ];
    for (const [options, message] of cases) {
      expect(() => pgSink(options as never)).toThrow(TypeError);
      expect(() => pgSink(options as never)).toThrow(message);
    }
    expect(() => pgSinkSchema('x; drop')).toThrow(/pgSinkSchema\(table\)/);
    expect(pgSink({ pool, table: 'Mixed_Case' }).table).toBe('Mixed_Case');
  });
});

describe('replay over a pgSink', () => {
  let target: TestServer;
  const sent = new Map<string, number>();

  beforeAll(async () => {
    target = await startTestServer(async (request, response) => {
      sent.set(request.url, (sent.get(request.url) ?? 0) + 1);
      await sleep(3);
      // Every tenth order fails, so released records are in the mix.
      sendJson(response, request.url.endsWith('0') ? 500 : 201, {});
    });
  });

  afterAll(async () => {
    await target?.close();
  });

  async function fill(sink: DeadLetterSink, count: number) {
    sent.clear();
    const records = Array.from({ length: count }, (_, index) =>
      makeRecord({ url: `${target.url}/orders/${index}`, idempotencyKey: `key-${index}` }),
    );
    for (let start = 0; start < count; start += 50) {
      await Promise.all(records.slice(start, start + 50).map((record) => sink.put(record)));
    }
    return records;
  }

  it('two replays at once send each of 200 records exactly once between them', async () => {
    const sink = pgSink({ pool, table: freshTable() });
    await fill(sink, 200);
    const instance = axios.create();
    const [first, second] = await Promise.all([
      replay({ instance, sink, concurrency: 4 }),
      replay({ instance, sink, concurrency: 4 }),
    ]);

    expect(sent.size).toBe(200);
    expect([...sent.values()].every((times) => times === 1)).toBe(true);
    expect(first.attempted + second.attempted).toBe(200);
    expect(first.succeeded + second.succeeded).toBe(180);
    expect(first.failed + second.failed).toBe(20);
    // Both did part of the work: the test really ran two replayers side by side.
    expect(first.attempted).toBeGreaterThan(0);
    expect(second.attempted).toBeGreaterThan(0);
    const left = await sink.list();
    expect(left).toHaveLength(20);
    expect(left.every((record) => record.replays === 1 && record.url.endsWith('0'))).toBe(true);
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM "${sink.table}" WHERE lease_owner IS NOT NULL`);
    expect(rows[0].n).toBe(0);
  }, 60_000);

  it('without leases the same two replays send records twice (what the lease prevents)', async () => {
    const leasing = pgSink({ pool, table: freshTable() });
    await fill(leasing, 200);
    const { claim: _claim, release: _release, ...withoutLeases } = leasing;
    const sink: DeadLetterSink = withoutLeases;
    const instance = axios.create();
    await Promise.all([replay({ instance, sink, concurrency: 4 }), replay({ instance, sink, concurrency: 4 })]);
    expect([...sent.values()].some((times) => times > 1)).toBe(true);
  }, 60_000);
});
