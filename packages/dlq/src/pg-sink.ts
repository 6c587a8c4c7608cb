import {
  assertBoolean,
  assertKnownKeys,
  assertNonEmptyString,
  assertPlainObject,
  optionError,
} from '@axios-resilience/core';
import { bytesToBase64 } from './body';
import { isDeadLetterRecord, type DeadLetterRecord } from './record';
import {
  compareIds,
  normaliseClaimOptions,
  normaliseListOptions,
  type ClaimOptions,
  type DeadLetterSink,
  type ListOptions,
} from './sink';
import { loadModule } from './node-modules';

/**
 * What the sink needs of a `pg` pool: `query(text, values)` resolving `{ rows, rowCount }`. A `pg.Pool`
 * fits, and so does anything with the same `query` (a `pg.Client`, though one connection serialises
 * every call). Every operation is a single statement, so the sink never checks out a client.
 */
export interface PgQueryable {
  /** Runs one parameterised statement (`$1`, `$2`, ...); rejects on a database or connection error. */
  query(text: string, values?: unknown[]): Promise<{ rows: Array<Record<string, unknown>>; rowCount: number | null }>;
}

/**
 * Settings for the `pg.Pool` the sink makes from a `connectionString` (any `pg.PoolConfig` field).
 */
export interface PgPoolSettings {
  /**
   * Connections the pool opens at most.
   * @default 10
   */
  max?: number;
  /**
   * How long to wait for a connection, in ms, so a database that does not answer fails fast.
   * @default 5_000 (the dead-letter layer's `sinkTimeoutMs`)
   */
  connectionTimeoutMillis?: number;
  /**
   * How long an idle connection is kept open, in ms.
   * @default 10_000
   */
  idleTimeoutMillis?: number;
  /**
   * Let the process exit while connections are idle, so the sink never keeps it alive.
   * @default true
   */
  allowExitOnIdle?: boolean;
  [setting: string]: unknown;
}

/** Options of `pgSink`: a pool or a URL (exactly one), and the table. */
export interface PgSinkOptions {
  /** A `pg.Pool` (or any {@link PgQueryable}) you own: the sink never ends it. One of `pool` or `connectionString`. */
  pool?: PgQueryable;
  /**
   * A PostgreSQL URL: the sink makes its own `pg.Pool` on first use and ends it on `close()`. Needs the
   * `pg` package (an optional peer dependency, loaded only then). One of `pool` or `connectionString`.
   */
  connectionString?: string;
  /** Settings for the pool made from `connectionString`. @default {} (see {@link PgPoolSettings}) */
  poolSettings?: PgPoolSettings;
  /**
   * The table: a plain SQL identifier (`[A-Za-z_][A-Za-z0-9_]*`, up to 63 characters), optionally
   * schema-qualified (`ops.dead_letters`). Quoted as given, so case is kept.
   * @default 'axios_resilience_dead_letters'
   */
  table?: string;
  /**
   * Create the table and its index (`IF NOT EXISTS`) on first use. Turn off when migrations own the
   * schema: `pgSinkSchema(table)` returns the SQL.
   * @default true
   */
  createTable?: boolean;
}

/** A sink in a PostgreSQL table that leases records, so replayers in several processes can share it. */
export interface PgSink extends DeadLetterSink {
  /** The table, as given. */
  readonly table: string;
  claim(options: ClaimOptions): Promise<DeadLetterRecord[]>;
  release(id: string, owner: string): Promise<boolean>;
  /** Ends the pool the sink made from `connectionString`; a pool you passed is left open. */
  close(): Promise<void>;
}

/** The table `pgSink` and `pgSinkSchema` use unless told otherwise. */
export const DEFAULT_PG_SINK_TABLE = 'axios_resilience_dead_letters';

const DEFAULT_POOL_SETTINGS: PgPoolSettings = Object.freeze({
  max: 10,
  connectionTimeoutMillis: 5_000,
  idleTimeoutMillis: 10_000,
  allowExitOnIdle: true,
});

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
/** PostgreSQL cuts longer identifiers to 63 bytes. */
const MAX_IDENTIFIER = 63;

function tableParts(path: string, table: unknown): string[] {
  const expected = 'a SQL identifier ([A-Za-z_][A-Za-z0-9_]*, at most 63 characters), optionally schema.table';
  if (typeof table !== 'string') throw optionError(path, expected, table);
  const parts = table.split('.');
  if (parts.length > 2 || !parts.every((part) => IDENTIFIER.test(part))) throw optionError(path, expected, table);
  return parts;
}

const quote = (identifier: string) => `"${identifier}"`;

interface TableNames {
  /** The quoted, possibly schema-qualified table. */
  table: string;
  /** The quoted index name (an index lives in its table's schema, so it is never qualified). */
  createdAtIndex: string;
}

function tableNames(parts: string[]): TableNames {
  const name = parts[parts.length - 1];
  return {
    table: parts.map(quote).join('.'),
    createdAtIndex: quote(`${name}_created_at_idx`.slice(0, MAX_IDENTIFIER)),
  };
}

function schemaSql({ table, createdAtIndex }: TableNames): string {
  // `id` compares byte by byte (COLLATE "C") whatever the database's locale, so `list` and its `after`
  // cursor order ids exactly as the other sinks do (plain string comparison).
  return `CREATE TABLE IF NOT EXISTS ${table} (
  id text COLLATE "C" PRIMARY KEY,
  created_at timestamptz NOT NULL,
  method text NOT NULL,
  url text NOT NULL,
  reason text NOT NULL,
  status integer,
  attempts integer NOT NULL,
  idempotency_key text,
  replays integer NOT NULL DEFAULT 0,
  replayable boolean NOT NULL,
  lease_owner text,
  leased_until timestamptz,
  record jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS ${createdAtIndex} ON ${table} (created_at, id);
`;
}

/**
 * The SQL that makes a `pgSink` table and its index, for migrations (run it, then pass
 * `createTable: false`). Idempotent (`IF NOT EXISTS`). Throws a `TypeError` for an unsafe name.
 */
export function pgSinkSchema(table: string = DEFAULT_PG_SINK_TABLE): string {
  return schemaSql(tableNames(tableParts('pgSinkSchema(table)', table)));
}

/** The statements of one table, built once. */
function statements({ table }: TableNames) {
  const columns = 'id, created_at, method, url, reason, status, attempts, idempotency_key, replays, replayable, record';
  return {
    put: `INSERT INTO ${table} (${columns})
VALUES ($1, COALESCE($2::timestamptz, now()), $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb)
ON CONFLICT (id) DO UPDATE SET created_at = EXCLUDED.created_at, method = EXCLUDED.method, url = EXCLUDED.url,
  reason = EXCLUDED.reason, status = EXCLUDED.status, attempts = EXCLUDED.attempts,
  idempotency_key = EXCLUDED.idempotency_key, replays = EXCLUDED.replays, replayable = EXCLUDED.replayable,
  record = EXCLUDED.record`,
    get: `SELECT record::text AS record FROM ${table} WHERE id = $1`,
    list: `SELECT record::text AS record FROM ${table} ORDER BY id LIMIT $1`,
    listAfter: `SELECT record::text AS record FROM ${table} WHERE id > $2 ORDER BY id LIMIT $1`,
    remove: `DELETE FROM ${table} WHERE id = $1`,
    size: `SELECT count(*)::text AS count FROM ${table}`,
    // One statement, so the pick and the lease commit together; SKIP LOCKED lets a second claimer pass
    // over rows the first is taking instead of waiting, and the lease check runs again on the row it
    // finally locks, so a row leased a moment ago is never taken twice.
    claim: `UPDATE ${table} SET lease_owner = $1, leased_until = now() + $2::double precision * interval '1 millisecond'
WHERE id IN (
  SELECT id FROM ${table}
  WHERE (leased_until IS NULL OR leased_until <= now())
    AND ($4::text IS NULL OR id > $4)
    AND ($5::text[] IS NULL OR id = ANY($5::text[]))
  ORDER BY id
  LIMIT $3
  FOR UPDATE SKIP LOCKED
)
RETURNING record::text AS record`,
    release: `UPDATE ${table} SET lease_owner = NULL, leased_until = NULL WHERE id = $1 AND lease_owner = $2`,
  };
}

const NUL = String.fromCharCode(0);
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

const isStorable = (text: string) => !text.includes(NUL) && !LONE_SURROGATE.test(text);

function storableText(text: string): string {
  return isStorable(text) ? text : text.replaceAll(NUL, '\ufffd').replace(LONE_SURROGATES, '\ufffd');
}

function storableValue(value: unknown): unknown {
  if (typeof value === 'string') return storableText(value);
  if (Array.isArray(value)) return value.map(storableValue);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [storableText(key), storableValue(inner)]));
  }
  return value;
}

/**
 * `jsonb` refuses NUL characters and unpaired surrogates. A text body holding them is kept as base64 of
 * the bytes axios sent for it (its UTF-8 form), so a replay still sends exactly those bytes; anywhere
 * else (a response body, a message) they become U+FFFD.
 */
function storableJson(record: DeadLetterRecord): string {
  const json = JSON.stringify(record);
  if (!json.includes('\\u0000') && !/\\ud[89a-f]/i.test(json)) return json;
  let copy: DeadLetterRecord = record;
  if (record.bodyEncoding === 'utf8' && typeof record.body === 'string' && !isStorable(record.body)) {
    copy = { ...record, body: bytesToBase64(new TextEncoder().encode(record.body)), bodyEncoding: 'base64' };
  }
  return JSON.stringify(storableValue(copy));
}

function isoOrNull(value: unknown): string | null {
  const parsed = typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isFinite(parsed) ? new Date(parsed).toISOString() : null;
}

const integerOrNull = (value: unknown) => (Number.isSafeInteger(value) ? (value as number) : null);
const textOf = (value: unknown) => storableText(typeof value === 'string' ? value : String(value ?? ''));

function putValues(record: DeadLetterRecord): unknown[] {
  return [
    record.id,
    isoOrNull(record.createdAt),
    textOf(record.method),
    textOf(record.url),
    textOf(record.reason),
    integerOrNull(record.error?.status),
    integerOrNull(record.attempts) ?? 0,
    typeof record.idempotencyKey === 'string' ? storableText(record.idempotencyKey) : null,
    integerOrNull(record.replays) ?? 0,
    record.replayable === true,
    storableJson(record),
  ];
}

/** A user's type parsers may hand `jsonb` back parsed; the sink asks for text and accepts either. */
function readRecord(value: unknown): DeadLetterRecord | undefined {
  const parsed = typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
  return isDeadLetterRecord(parsed) ? parsed : undefined;
}

function readRecords(rows: Array<Record<string, unknown>>): DeadLetterRecord[] {
  const records: DeadLetterRecord[] = [];
  for (const row of rows) {
    const record = readRecord(row.record);
    if (record) records.push(record);
  }
  return records;
}

type OwnedPool = PgQueryable & { end(): Promise<void>; on(event: 'error', listener: (error: Error) => void): unknown };
type PgModule = { Pool?: new (config: Record<string, unknown>) => OwnedPool; default?: PgModule };

async function createPool(connectionString: string, settings: PgPoolSettings): Promise<OwnedPool> {
  let pg: PgModule;
  try {
    // Loaded by a name passed at run time: `pg` is an optional peer that browser bundles never see.
    pg = await loadModule<PgModule>('pg');
  } catch {
    throw new Error('pgSink({ connectionString }) needs the package pg (npm install pg)');
  }
  const Pool = pg.Pool ?? pg.default?.Pool;
  if (typeof Pool !== 'function') throw new Error('pgSink: the installed pg package has no Pool');
  const pool = new Pool({ ...DEFAULT_POOL_SETTINGS, ...settings, connectionString });
  // pg emits 'error' on the pool when an idle connection dies (a database restart, say); unheard, that
  // event would crash the process. The next query reports the outage instead.
  pool.on('error', () => undefined);
  return pool;
}

interface ResolvedPgSinkOptions {
  pool?: PgQueryable;
  connectionString?: string;
  poolSettings: PgPoolSettings;
  table: string;
  names: TableNames;
  createTable: boolean;
}

const KNOWN_KEYS = ['pool', 'connectionString', 'poolSettings', 'table', 'createTable'];

function resolvePgSinkOptions(input: PgSinkOptions): ResolvedPgSinkOptions {
  assertPlainObject('pgSink(options)', input as unknown);
  const options: PgSinkOptions = input;
  assertKnownKeys('pgSink', options as unknown as Record<string, unknown>, KNOWN_KEYS);
  const { pool, connectionString } = options;
  if (pool !== undefined && connectionString !== undefined) {
    throw optionError('pgSink.pool', 'either pool or connectionString, not both', pool);
  }
  if (pool === undefined && connectionString === undefined) {
    throw optionError('pgSink.pool', 'a pg Pool (or pass connectionString)', pool);
  }
  if (pool !== undefined && (typeof pool !== 'object' || pool === null || typeof pool.query !== 'function')) {
    throw optionError('pgSink.pool', 'a pg Pool (an object with query(text, values))', pool);
  }
  if (connectionString !== undefined) assertNonEmptyString('pgSink.connectionString', connectionString);
  const poolSettings: PgPoolSettings = options.poolSettings ?? {};
  assertPlainObject('pgSink.poolSettings', poolSettings as unknown);
  if (options.poolSettings !== undefined && pool !== undefined) {
    throw optionError('pgSink.poolSettings', 'no pool settings with your own pool (configure the pool)', poolSettings);
  }
  const table = options.table ?? DEFAULT_PG_SINK_TABLE;
  const names = tableNames(tableParts('pgSink.table', table));
  const createTable = options.createTable ?? true;
  assertBoolean('pgSink.createTable', createTable);
  return { pool, connectionString, poolSettings, table, names, createTable };
}

/**
 * SQLSTATEs of sessions creating the same table at once, `IF NOT EXISTS` notwithstanding: a unique violation
 * in the catalog (23505), the table (42P07) or its row type (42710, duplicate_object) already there. Whoever
 * lost finds the table made on a retry.
 */
const CREATE_RACE = new Set(['23505', '42P07', '42710']);
/**
 * Tries at making the table: the loser of a race retries once and finds the winner's table and index, which
 * commit together (one simple query, one implicit transaction).
 */
const CREATE_ATTEMPTS = 2;

/**
 * A sink in a PostgreSQL table through `pg` (an optional peer dependency): the article's choice for
 * low-volume teams. Each record is a row: its main fields in columns for SQL, the whole record as
 * `jsonb`. Every operation is one statement (one round trip; the first also creates the table unless
 * `createTable` is off). `claim`/`release` lease rows with `FOR UPDATE SKIP LOCKED`, so replayers in
 * any number of processes never take the same record.
 */
export function pgSink(options: PgSinkOptions): PgSink {
  const settings = resolvePgSinkOptions(options);
  const sql = statements(settings.names);
  let poolPromise: Promise<PgQueryable> | undefined;
  let owned: OwnedPool | undefined;
  let ready: Promise<void> | undefined;
  let closed = false;

  function pool(): Promise<PgQueryable> {
    if (settings.pool) return Promise.resolve(settings.pool);
    if (closed) return Promise.reject(new Error('pgSink: the sink is closed'));
    poolPromise ??= createPool(settings.connectionString!, settings.poolSettings).then(
      (created) => (owned = created),
      (error: unknown) => {
        poolPromise = undefined;
        throw error;
      },
    );
    return poolPromise;
  }

  async function createTable(client: PgQueryable): Promise<void> {
    const schema = schemaSql(settings.names);
    for (let attempt = 1; ; attempt++) {
      try {
        await client.query(schema);
        return;
      } catch (error) {
        if (attempt >= CREATE_ATTEMPTS || !CREATE_RACE.has((error as { code?: string }).code ?? '')) throw error;
      }
    }
  }

  async function query(text: string, values: unknown[]) {
    const client = await pool();
    if (settings.createTable) {
      // Made once; a failure (the database was down) is not remembered, so the next call tries again.
      ready ??= createTable(client).catch((error: unknown) => {
        ready = undefined;
        throw error;
      });
      await ready;
    }
    return client.query(text, values);
  }

  return {
    table: settings.table,
    async put(record) {
      if (!isDeadLetterRecord(record)) throw optionError('put(record)', 'a dead-letter record with an id', record);
      await query(sql.put, putValues(record));
    },
    async get(id) {
      const { rows } = await query(sql.get, [id]);
      return rows.length > 0 ? readRecord(rows[0].record) : undefined;
    },
    async list(listOptions?: ListOptions) {
      const { limit, after } = normaliseListOptions(listOptions);
      const limitValue = limit === Infinity ? null : limit;
      const { rows } =
        after === undefined ? await query(sql.list, [limitValue]) : await query(sql.listAfter, [limitValue, after]);
      return readRecords(rows);
    },
    async remove(id) {
      const { rowCount } = await query(sql.remove, [id]);
      return (rowCount ?? 0) > 0;
    },
    async size() {
      const { rows } = await query(sql.size, []);
      return Number(rows[0]?.count ?? 0);
    },
    async claim(claimOptions) {
      const { owner, leaseMs, limit, ids, after } = normaliseClaimOptions(claimOptions);
      if (limit === 0 || ids?.length === 0) return [];
      const { rows } = await query(sql.claim, [owner, leaseMs, limit, after ?? null, ids ? [...ids] : null]);
      // RETURNING has no order of its own.
      return readRecords(rows).sort((a, b) => compareIds(a.id, b.id));
    },
    async release(id, owner) {
      const { rowCount } = await query(sql.release, [id, owner]);
      return (rowCount ?? 0) > 0;
    },
    async close() {
      closed = true;
      const pending = poolPromise;
      poolPromise = undefined;
      if (!pending) return;
      await pending.catch(() => undefined);
      const toEnd = owned;
      owned = undefined;
      await toEnd?.end();
    },
  };
}
