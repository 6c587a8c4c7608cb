import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import axios from 'axios';
import { Redis } from '@upstash/redis';
import {
  sendJson,
  startPostgres,
  startRedisServer,
  startTestServer,
  startUpstashBridge,
  stubAdapter,
  type PostgresServer,
  type RedisServer,
  type TestServer,
  type UpstashBridge,
  REPO_ROOT,
  runTsx,
  type TsxResult,
} from '@axios-resilience/testkit';
import {
  attachDeadLetter,
  fileSink,
  pgSink,
  upstashSink,
  type DeadLetterRecord,
  type DeadLetterSink,
} from '@axios-resilience/dlq';
import { parseDuration, parseHeader, rebaseUrl, runCli } from '@axios-resilience/dlq/cli';
import { makeRecord } from './records';

const CLI = join(REPO_ROOT, 'packages', 'dlq', 'src', 'cli.ts');
/** The records point at an origin nobody listens on: a replay only works through --base-url. */
const DEAD_ORIGIN = 'http://127.0.0.1:9';

let directory: string;
let target: TestServer;
let redisServer: RedisServer;
let bridge: UpstashBridge;
let postgres: PostgresServer;
const toClose: DeadLetterSink[] = [];

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'dlq-cli-'));
  target = await startTestServer();
  redisServer = await startRedisServer();
  bridge = await startUpstashBridge({ redisUrl: redisServer.url, token: 'cli-test-token' });
  postgres = await startPostgres();
}, 60_000);

afterAll(async () => {
  await Promise.all(toClose.map((sink) => sink.close?.()));
  await postgres?.stop();
  await bridge?.close();
  await redisServer?.stop();
  await target?.close();
  await rm(directory, { recursive: true, force: true });
});

/** Three dead letters made the real way: failed writes through an instance with the layer attached. */
async function deadLetterThree(sink: DeadLetterSink): Promise<DeadLetterRecord[]> {
  const instance = axios.create({
    baseURL: DEAD_ORIGIN,
    adapter: stubAdapter(() => ({ status: 503, data: { error: 'down' } })),
    headers: { Authorization: 'Bearer old-credential-0001' },
  });
  attachDeadLetter(instance, { sink });
  for (const order of ['ok-1', 'fails', 'ok-2']) {
    await instance
      .post(`/orders/${order}`, { order }, { headers: { 'Idempotency-Key': `key-${order}` } })
      .catch(() => undefined);
  }
  const records = await sink.list();
  expect(records).toHaveLength(3);
  return records;
}

function expectOneLineError(result: TsxResult, code: number, pattern: RegExp): void {
  expect(result.code).toBe(code);
  const lines = result.stderr.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^axios-resilience-dlq: error: /);
  expect(lines[0]).toMatch(pattern);
}

interface SinkCase {
  name: string;
  open(): { sink: DeadLetterSink; args: string[]; env: Record<string, string> };
}

const SINKS: SinkCase[] = [
  {
    name: 'a file sink',
    open() {
      const path = join(directory, 'dead-letters.jsonl');
      const sink = fileSink({ path });
      toClose.push(sink);
      return { sink, args: ['--file', path], env: {} };
    },
  },
  {
    name: 'the Upstash bridge over a real redis-server',
    open() {
      const redis = new Redis({ url: bridge.url, token: bridge.token, retry: { retries: 0 }, enableTelemetry: false });
      // Flags for the key, the environment for the credentials, as a deployment would set them.
      return {
        sink: upstashSink({ redis, key: 'cli-test' }),
        args: ['--upstash-key', 'cli-test'],
        env: { UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: bridge.token },
      };
    },
  },
  {
    name: 'a PostgreSQL table on a real server',
    open() {
      const sink = pgSink({ connectionString: postgres.url, table: 'cli_dead_letters' });
      toClose.push(sink);
      // Upstash credentials in the environment must not win over an explicit --pg.
      return {
        sink,
        args: ['--pg', postgres.url, '--pg-table', 'cli_dead_letters'],
        env: { UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: bridge.token },
      };
    },
  },
];

describe.each(SINKS)('the CLI as a child process over $name', ({ open }) => {
  it('lists, shows, counts, replays and purges; errors are one line with a meaningful exit code', async () => {
    const { sink, args, env } = open();
    const records = await deadLetterThree(sink);
    const run = (...argv: string[]) => runTsx(CLI, [...argv, ...args], { env });

    const list = await run('list');
    expect(list).toMatchObject({ code: 0, stderr: '' });
    const rows = list.stdout.trim().split('\n');
    expect(rows.map((row) => row.split('  ')[0])).toEqual(records.map((record) => record.id));
    expect(rows[0]).toContain(`POST    503  not-retryable  ${DEAD_ORIGIN}/orders/ok-1`);

    const show = await run('show', records[1].id);
    expect(show.code).toBe(0);
    expect(JSON.parse(show.stdout)).toEqual(records[1]);
    expect(show.stdout).not.toContain('old-credential-0001');

    const stats = await run('stats', '--json');
    expect(stats.code).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({
      count: 3,
      replayable: 3,
      byReason: { 'not-retryable': 3 },
      byStatus: { '503': 3 },
      byMethod: { POST: 3 },
      byHost: { '127.0.0.1:9': 3 },
    });

    target.requests.length = 0;
    const dryRun = await run('replay', '--dry-run', '--base-url', target.url);
    expect(dryRun.code).toBe(0);
    expect(dryRun.stdout).toContain(`would replay ${records[0].id}`);
    expect(dryRun.stdout).toContain('dry run: 3 would be replayed, 0 skipped');
    expect(target.requests).toHaveLength(0);
    expect(await sink.size()).toBe(3);

    target.setHandler((request, response) => sendJson(response, request.url.includes('fails') ? 500 : 201, {}));
    const replayed = await run(
      'replay',
      '--base-url',
      target.url,
      '--header',
      'Authorization: Bearer new-credential-0002',
      '--concurrency',
      '2',
    );
    expect(replayed.code).toBe(1);
    expect(replayed.stdout).toContain(`succeeded ${records[0].id} 201`);
    expect(replayed.stdout).toContain(`failed    ${records[1].id} 500`);
    expect(replayed.stdout).toContain('replayed 3: 2 succeeded, 1 failed, 0 skipped');
    expect(target.requests.map((request) => request.url).sort()).toEqual([
      '/orders/fails',
      '/orders/ok-1',
      '/orders/ok-2',
    ]);
    for (const request of target.requests) {
      expect(request.headers.authorization).toBe('Bearer new-credential-0002');
      expect(request.headers['idempotency-key']).toBe(`key-${request.url.split('/').pop()}`);
      expect(JSON.parse(request.body.toString())).toEqual({ order: request.url.split('/').pop() });
    }
    const left = await sink.list();
    expect(left).toEqual([expect.objectContaining({ id: records[1].id, replays: 1 })]);

    expectOneLineError(await run('show', 'no-such-id'), 3, /no record with id "no-such-id"/);
    expectOneLineError(await run('purge'), 2, /add --yes/);
    expect(await sink.size()).toBe(1);

    const purge = await run('purge', '--yes');
    expect(purge).toMatchObject({ code: 0, stdout: 'purged 1 record\n' });
    expect(await run('list')).toMatchObject({ code: 0, stdout: 'no records\n' });
  }, 120_000);
});

describe('the CLI as a child process, failing clearly', () => {
  it('exits 3 with one line for a missing file, and 2 for a usage error', async () => {
    const missing = join(directory, 'nope', 'dead-letters.jsonl');
    expectOneLineError(await runTsx(CLI, ['list', '--file', missing]), 3, /no dead-letter file at .*nope/);
    expectOneLineError(await runTsx(CLI, ['frobnicate', '--file', missing]), 2, /unknown command "frobnicate"/);
  }, 60_000);

  it('exits 3 with one line, and no password, when the database cannot be reached', async () => {
    const result = await runTsx(CLI, ['list', '--pg', 'postgres://app:pg-secret-4242@127.0.0.1:9/app']);
    expectOneLineError(result, 3, /PostgreSQL sink at postgres:\/\/127\.0\.0\.1:9\/app: .*ECONNREFUSED/);
    expect(result.stderr).not.toContain('pg-secret-4242');
  }, 60_000);
});

describe('two CLI replays at once over --pg', () => {
  it('split the records between them: each is sent once', async () => {
    const table = 'cli_concurrent';
    const sink = pgSink({ connectionString: postgres.url, table });
    toClose.push(sink);
    const records = Array.from({ length: 40 }, (_, index) =>
      makeRecord({ url: `${DEAD_ORIGIN}/orders/${index}`, idempotencyKey: `key-${index}` }),
    );
    for (const record of records) await sink.put(record);
    const sent = new Map<string, number>();
    // Answers wait until four requests are in flight at once: more than one replay's concurrency (3), so
    // both processes are surely replaying side by side, however far apart they started.
    let inFlight = 0;
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    target.setHandler(async (request, response) => {
      sent.set(request.url, (sent.get(request.url) ?? 0) + 1);
      inFlight += 1;
      if (inFlight >= 4) openGate();
      await gate;
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight -= 1;
      sendJson(response, 201, {});
    });
    const run = () =>
      runTsx(CLI, [
        'replay',
        '--pg',
        postgres.url,
        '--pg-table',
        table,
        '--base-url',
        target.url,
        '--concurrency',
        '3',
      ]);
    const results = await Promise.all([run(), run()]);

    for (const result of results) expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(sent.size).toBe(40);
    expect([...sent.values()].every((times) => times === 1)).toBe(true);
    const replayed = results.map((result) => Number(/replayed (\d+):/.exec(result.stdout)?.[1]));
    expect(replayed[0] + replayed[1]).toBe(40);
    expect(Math.min(...replayed)).toBeGreaterThan(0);
    expect(await sink.size()).toBe(0);
  }, 120_000);
});

describe('runCli in process', () => {
  function capture(isTTY = false) {
    const out: string[] = [];
    const err: string[] = [];
    return {
      io: {
        stdout: { write: (text: string) => out.push(text), isTTY },
        stderr: { write: (text: string) => err.push(text), isTTY },
        env: {},
      },
      stdout: () => out.join(''),
      stderr: () => err.join(''),
    };
  }

  async function fileWith(records: DeadLetterRecord[]): Promise<string> {
    const path = join(directory, `in-process-${Math.random().toString(36).slice(2)}.jsonl`);
    const sink = fileSink({ path });
    for (const record of records) await sink.put(record);
    await sink.close();
    return path;
  }

  it.each([
    [['list'], /no sink: pass --file PATH, --pg URL/],
    [['list', '--file', 'a', '--upstash-url', 'http://x', '--upstash-token', 't'], /choose one sink/],
    [['list', '--file', 'a', '--pg', 'postgres://127.0.0.1:9/x'], /choose one sink/],
    [['list', '--pg', 'postgres://127.0.0.1:9/x', '--upstash-url', 'http://x'], /choose one sink/],
    [['list', '--file', 'a', '--pg-table', 'x'], /--pg-table needs --pg URL/],
    [['list', '--pg', 'mysql://127.0.0.1:9/x'], /--pg: expected a PostgreSQL URL/],
    [['list', '--pg', 'postgres://127.0.0.1:9/x', '--pg-table', 'bad-name'], /--pg-table: expected a SQL identifier/],
    [['list', '--upstash-url', 'http://x'], /needs both --upstash-url and --upstash-token/],
    [['list', '--yes', '--file', 'a'], /--yes does not apply to list/],
    [['list', '--nope'], /Unknown option '--nope'/],
    [['stats', 'extra', '--file', 'a'], /stats takes no arguments/],
    [['show', '--file', 'a'], /show takes exactly one record id/],
    [[], /no command given/],
  ])('%p is a usage error', async (argv, message) => {
    const { io, stderr } = capture();
    const path = await fileWith([]);
    const resolved = argv.map((arg) => (arg === 'a' ? path : arg));
    expect(await runCli(resolved, io)).toBe(2);
    expect(stderr()).toMatch(message);
    expect(stderr().trim().split('\n')).toHaveLength(1);
  });

  it('validates replay flags before sending anything', async () => {
    const path = await fileWith([makeRecord()]);
    for (const flags of [
      ['--concurrency', '0'],
      ['--max-age', 'soon'],
      ['--header', 'no colon'],
      ['--base-url', 'not a url'],
    ]) {
      const { io, stderr } = capture();
      expect(await runCli(['replay', '--file', path, ...flags], io)).toBe(2);
      expect(stderr()).toMatch(new RegExp(flags[0]));
    }
  });

  it('draws a progress bar on a terminal and still lists what failed', async () => {
    const records = [makeRecord({ url: `${DEAD_ORIGIN}/a` }), makeRecord({ url: `${DEAD_ORIGIN}/b` })];
    const path = await fileWith(records);
    target.setHandler((request, response) => sendJson(response, request.url === '/b' ? 502 : 200, {}));
    const { io, stdout, stderr } = capture(true);
    expect(await runCli(['replay', '--file', path, '--base-url', target.url], io)).toBe(1);
    expect(stderr()).toContain('\r[############............] 1/2');
    expect(stderr()).toContain('\r[########################] 2/2  ok 1  failed 1  skipped 0');
    expect(stdout()).toBe(
      `failed    ${records[1].id} 502 Request failed with status code 502\nreplayed 2: 1 succeeded, 1 failed, 0 skipped\n`,
    );
  });

  it('exits 3 when a requested id does not exist, and skips too-old records unless forced', async () => {
    const old = makeRecord({
      createdAt: '2020-01-01T00:00:00.000Z',
      firstAttemptAt: '2020-01-01T00:00:00.000Z',
      url: `${DEAD_ORIGIN}/old`,
    });
    const path = await fileWith([old]);
    target.setHandler((_request, response) => sendJson(response, 200, {}));
    let run = capture();
    expect(await runCli(['replay', 'missing-id', '--file', path], run.io)).toBe(3);
    expect(run.stdout()).toContain('skipped   missing-id not-found');
    run = capture();
    expect(await runCli(['replay', '--file', path, '--base-url', target.url], run.io)).toBe(0);
    expect(run.stdout()).toContain(`skipped   ${old.id} too-old`);
    run = capture();
    expect(await runCli(['replay', '--file', path, '--base-url', target.url, '--max-age', '100000d'], run.io)).toBe(0);
    expect(run.stdout()).toContain(`succeeded ${old.id} 200`);
  });

  it('purges only records older than --older-than, and compacts a file', async () => {
    const now = Date.parse('2026-05-01T00:00:00.000Z');
    const old = makeRecord({ createdAt: '2026-04-01T00:00:00.000Z' });
    const recent = makeRecord({ createdAt: '2026-04-30T12:00:00.000Z' });
    const path = await fileWith([old, recent]);
    const run = capture();
    expect(await runCli(['purge', '--yes', '--older-than', '7d', '--file', path], { ...run.io, now: () => now })).toBe(
      0,
    );
    expect(run.stdout()).toBe('purged 1 record\n');
    expect((await readFile(path, 'utf8')).trim().split('\n')).toHaveLength(3);
    expect(await runCli(['compact', '--file', path], capture().io)).toBe(0);
    expect(
      (await readFile(path, 'utf8'))
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).id),
    ).toEqual([recent.id]);
  });

  it('prints a human summary for stats and rows for list', async () => {
    const path = await fileWith([makeRecord(), makeRecord({ replayable: false, replays: 2, reason: 'rate-limited' })]);
    const stats = capture();
    expect(await runCli(['stats', '--file', path], stats.io)).toBe(0);
    expect(stats.stdout()).toContain('records     2');
    expect(stats.stdout()).toContain('reasons     retries-exhausted 1, rate-limited 1');
    const list = capture();
    expect(await runCli(['list', '--file', path, '--limit', '1'], list.io)).toBe(0);
    expect(list.stdout().trim().split('\n')).toHaveLength(1);
  });
});

describe('CLI helpers', () => {
  it('parses durations', () => {
    expect(parseDuration('max-age', '500ms')).toBe(500);
    expect(parseDuration('max-age', '30s')).toBe(30_000);
    expect(parseDuration('max-age', '1.5h')).toBe(5_400_000);
    expect(parseDuration('max-age', '7d')).toBe(604_800_000);
    expect(parseDuration('max-age', '250')).toBe(250);
    expect(() => parseDuration('max-age', '-1s')).toThrow(/--max-age/);
  });

  it('parses headers', () => {
    expect(parseHeader('Authorization: Bearer a:b')).toEqual(['Authorization', 'Bearer a:b']);
    expect(() => parseHeader(': x')).toThrow(/--header/);
  });

  it('rebases URLs onto another origin and path prefix', () => {
    expect(rebaseUrl('https://api.old.test/v1/charges?x=1', 'http://127.0.0.1:8080')).toBe(
      'http://127.0.0.1:8080/v1/charges?x=1',
    );
    expect(rebaseUrl('https://api.old.test/v1/charges', 'https://proxy.test/prefix/')).toBe(
      'https://proxy.test/prefix/v1/charges',
    );
  });
});
