#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { stat } from 'node:fs/promises';
import axios, { type AxiosInstance } from 'axios';
import { fileSink } from './file-sink';
import type { DeadLetterRecord } from './record';
import { redactUrl } from './redact';
import { replay, type ReplayProgress, type ReplayResult } from './replay';
import { DEFAULT_PG_SINK_TABLE, pgSink } from './pg-sink';
import { isLeasingSink, sinkRecords, type DeadLetterSink } from './sink';
import { DEFAULT_UPSTASH_SINK_KEY, upstashSink, type UpstashSinkClient } from './upstash-sink';

/**
 * `axios-resilience-dlq`: inspect, replay and purge a dead-letter sink from a terminal. Exit codes: 0 done,
 * 1 some replays failed, 2 usage error, 3 not found or the sink failed. Errors are one line on stderr.
 */

export const EXIT = Object.freeze({ ok: 0, replayFailed: 1, usage: 2, notFound: 3 });

/** Where the CLI writes and what it reads from its surroundings; `runCli` defaults to the process's own. */
export interface CliIo {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  env: Record<string, string | undefined>;
  /** Makes the instance replays go through. @default axios.create(...) with the CLI's headers and timeout */
  createInstance?: (config: { headers: Record<string, string>; timeout: number }) => AxiosInstance;
  /** @default Date.now */
  now?: () => number;
}

const PROGRAM = 'axios-resilience-dlq';

const USAGE = `Usage: ${PROGRAM} <command> [options]

Commands:
  list                 list records, oldest first   [--limit N] [--after ID] [--json]
  show <id>            print one record as JSON
  stats                counts by reason, status, method and host   [--json]
  replay [id...]       re-send records through a fresh axios instance
                         [--id ID]... [--limit N] [--base-url URL] [--header 'Name: value']...
                         [--concurrency N] [--max-age 24h] [--force] [--dry-run] [--timeout 30s]
  purge --yes          remove all records, or those older than --older-than (e.g. 7d)
  compact              rewrite a file sink without removed records (file sinks only)

Sink (one of):
  --file PATH                           a JSONL file written by fileSink()
  --upstash-url URL --upstash-token T   Redis through @upstash/redis (or UPSTASH_REDIS_REST_URL and
                                        UPSTASH_REDIS_REST_TOKEN); --upstash-key K (default ${DEFAULT_UPSTASH_SINK_KEY})
  --pg URL                              a PostgreSQL table through pg (the password may come from PGPASSWORD);
                                        --pg-table T (default ${DEFAULT_PG_SINK_TABLE})

Durations: 500ms, 30s, 15m, 24h, 7d (a bare number is milliseconds).
Exit codes: 0 ok, 1 some replays failed, 2 usage error, 3 not found or sink error.
`;

const OPTIONS = {
  file: { type: 'string' },
  'upstash-url': { type: 'string' },
  'upstash-token': { type: 'string' },
  'upstash-key': { type: 'string' },
  pg: { type: 'string' },
  'pg-table': { type: 'string' },
  limit: { type: 'string' },
  after: { type: 'string' },
  json: { type: 'boolean' },
  id: { type: 'string', multiple: true },
  'base-url': { type: 'string' },
  header: { type: 'string', multiple: true, short: 'H' },
  concurrency: { type: 'string' },
  'max-age': { type: 'string' },
  force: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  timeout: { type: 'string' },
  'older-than': { type: 'string' },
  yes: { type: 'boolean', short: 'y' },
  help: { type: 'boolean', short: 'h' },
} as const;

type OptionName = keyof typeof OPTIONS;
type Values = { [K in OptionName]?: (typeof OPTIONS)[K] extends { multiple: true } ? string[] : string | boolean };

const SINK_OPTIONS: OptionName[] = ['file', 'upstash-url', 'upstash-token', 'upstash-key', 'pg', 'pg-table', 'help'];
const COMMAND_OPTIONS: Record<string, OptionName[]> = {
  list: ['limit', 'after', 'json'],
  show: [],
  stats: ['json'],
  replay: ['id', 'limit', 'base-url', 'header', 'concurrency', 'max-age', 'force', 'dry-run', 'timeout'],
  purge: ['yes', 'older-than'],
  compact: [],
};

/** An error that ends the CLI with a given exit code and a one-line message. */
export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

const usageError = (message: string) => new CliError(EXIT.usage, `${message} (see --help)`);

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `500ms`, `30s`, `15m`, `24h`, `7d`; a bare number is milliseconds. */
export function parseDuration(option: string, text: string): number {
  const match = DURATION.exec(text.trim());
  if (!match)
    throw usageError(`--${option}: expected a duration like 30s, 15m, 24h or 7d, got ${JSON.stringify(text)}`);
  return Math.round(Number(match[1]) * UNIT_MS[match[2] ?? 'ms']);
}

function parseCount(option: string, text: string, minimum: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < minimum) {
    throw usageError(`--${option}: expected an integer >= ${minimum}, got ${JSON.stringify(text)}`);
  }
  return value;
}

/** `'Name: value'` -> `['Name', 'value']`. */
export function parseHeader(text: string): [string, string] {
  const colon = text.indexOf(':');
  const name = colon > 0 ? text.slice(0, colon).trim() : '';
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
    throw usageError(`--header: expected 'Name: value', got a value without a valid header name`);
  }
  return [name, text.slice(colon + 1).trim()];
}

function oneLine(error: unknown, secrets: readonly string[] = []): string {
  let message = (error instanceof Error ? error.message : String(error)).split('\n')[0];
  const causeCode = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  if (typeof causeCode === 'string' && !message.includes(causeCode)) message += ` (${causeCode})`;
  for (const secret of secrets) if (secret.length >= 4) message = message.split(secret).join('[REDACTED]');
  return message;
}

/** Wraps a sink so any failure of it ends the CLI with exit code 3 and a clean message. */
function guardSink(sink: DeadLetterSink, describe: string, secrets: readonly string[]): DeadLetterSink {
  const guard =
    <A extends unknown[], R>(method: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await method(...args);
      } catch (error) {
        throw new CliError(EXIT.notFound, `${describe}: ${oneLine(error, secrets)}`);
      }
    };
  const guarded: DeadLetterSink = {
    put: guard(sink.put.bind(sink)),
    get: guard(sink.get.bind(sink)),
    list: guard(sink.list.bind(sink)),
    remove: guard(sink.remove.bind(sink)),
    size: guard(sink.size.bind(sink)),
    close: sink.close?.bind(sink),
  };
  // Leasing passes through, so a CLI replay and the application's own replayer share the queue safely.
  if (isLeasingSink(sink)) {
    guarded.claim = guard(sink.claim.bind(sink));
    guarded.release = guard(sink.release.bind(sink));
  }
  return guarded;
}

interface OpenedSink {
  sink: DeadLetterSink;
  /** Present for a file sink. */
  compact?: () => Promise<void>;
}

/**
 * The sink the flags (or the environment) name. One function per kind keeps adding a kind (a SQL sink, say)
 * to a new flag and a new branch here.
 */
async function openSink(values: Values, env: CliIo['env']): Promise<OpenedSink> {
  const file = values.file as string | undefined;
  const pg = values.pg as string | undefined;
  const explicit = file ?? pg;
  const upstashUrl =
    (values['upstash-url'] as string | undefined) ?? (explicit ? undefined : env.UPSTASH_REDIS_REST_URL);
  const upstashToken =
    (values['upstash-token'] as string | undefined) ?? (explicit ? undefined : env.UPSTASH_REDIS_REST_TOKEN);
  const chosen = [file, pg, values['upstash-url'] ?? values['upstash-token']].filter((value) => value !== undefined);
  if (chosen.length > 1) throw usageError('choose one sink: --file, --pg or --upstash-url/--upstash-token');
  if (values['pg-table'] !== undefined && pg === undefined) throw usageError('--pg-table needs --pg URL');
  if (file) return openFileSink(file);
  if (pg) return openPgSink(pg, values['pg-table'] as string | undefined);
  if (upstashUrl || upstashToken) {
    if (!upstashUrl || !upstashToken) {
      throw usageError(
        'the Upstash sink needs both --upstash-url and --upstash-token (or UPSTASH_REDIS_REST_URL/_TOKEN)',
      );
    }
    return openUpstashSink(upstashUrl, upstashToken, (values['upstash-key'] as string | undefined) ?? undefined);
  }
  throw usageError('no sink: pass --file PATH, --pg URL or --upstash-url URL --upstash-token TOKEN');
}

async function openFileSink(path: string): Promise<OpenedSink> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new CliError(EXIT.notFound, `${path} is not a file`);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(EXIT.notFound, `no dead-letter file at ${path}`);
  }
  // The CLI never compacts on its own: the application may be appending to the same file right now.
  const sink = fileSink({ path, compactThreshold: false });
  return { sink: guardSink(sink, `file sink ${path}`, []), compact: () => sink.compact() };
}

async function openUpstashSink(url: string, token: string, key: string | undefined): Promise<OpenedSink> {
  let Redis: new (config: Record<string, unknown>) => UpstashSinkClient;
  try {
    const specifier = '@upstash/redis';
    ({ Redis } = (await import(specifier)) as { Redis: typeof Redis });
  } catch {
    throw new CliError(EXIT.notFound, 'the Upstash sink needs the package @upstash/redis (npm install @upstash/redis)');
  }
  const redis = new Redis({ url, token, retry: { retries: 1 }, enableTelemetry: false });
  const sink = upstashSink({ redis, key });
  return { sink: guardSink(sink, `Upstash sink at ${redactUrl(url).value}`, [token]) };
}

async function openPgSink(url: string, table: string | undefined): Promise<OpenedSink> {
  if (!/^postgres(ql)?:\/\//i.test(url)) {
    throw usageError('--pg: expected a PostgreSQL URL like postgres://user@host:5432/database');
  }
  let sink;
  try {
    sink = pgSink({ connectionString: url, table });
  } catch (error) {
    throw usageError(`--pg-table: ${oneLine(error).replace(/^pgSink\.table: /, '')}`);
  }
  const { value, secrets } = redactUrl(url);
  return { sink: guardSink(sink, `PostgreSQL sink at ${value}`, secrets) };
}

function row(record: DeadLetterRecord): string {
  const status = record.error?.status ?? '-';
  const flags = [record.replayable ? '' : 'not-replayable', record.replays > 0 ? `replays=${record.replays}` : '']
    .filter(Boolean)
    .join(' ');
  return [
    record.id,
    record.createdAt,
    record.method.padEnd(6),
    String(status).padEnd(3),
    record.reason,
    record.url,
    flags,
  ]
    .filter((cell) => cell !== '')
    .join('  ');
}

async function listCommand(sink: DeadLetterSink, values: Values, io: CliIo): Promise<number> {
  const limit = values.limit === undefined ? undefined : parseCount('limit', values.limit as string, 0);
  const records = await sink.list({ limit, after: values.after as string | undefined });
  if (values.json) {
    for (const record of records) io.stdout.write(`${JSON.stringify(record)}\n`);
  } else if (records.length === 0) {
    io.stdout.write('no records\n');
  } else {
    for (const record of records) io.stdout.write(`${row(record)}\n`);
  }
  return EXIT.ok;
}

async function showCommand(sink: DeadLetterSink, positionals: string[]): Promise<{ record: DeadLetterRecord }> {
  const record = await sink.get(positionals[0]);
  if (!record) throw new CliError(EXIT.notFound, `no record with id ${JSON.stringify(positionals[0])}`);
  return { record };
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(relative)';
  }
}

function increment(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

async function statsCommand(sink: DeadLetterSink, values: Values, io: CliIo): Promise<number> {
  const stats = {
    count: 0,
    replayable: 0,
    replayedBefore: 0,
    oldest: null as string | null,
    newest: null as string | null,
    byReason: {} as Record<string, number>,
    byStatus: {} as Record<string, number>,
    byMethod: {} as Record<string, number>,
    byHost: {} as Record<string, number>,
  };
  for await (const record of sinkRecords(sink)) {
    stats.count += 1;
    if (record.replayable) stats.replayable += 1;
    if (record.replays > 0) stats.replayedBefore += 1;
    if (stats.oldest === null || record.createdAt < stats.oldest) stats.oldest = record.createdAt;
    if (stats.newest === null || record.createdAt > stats.newest) stats.newest = record.createdAt;
    increment(stats.byReason, record.reason);
    increment(stats.byStatus, String(record.error?.status ?? 'none'));
    increment(stats.byMethod, record.method);
    increment(stats.byHost, hostOf(record.url));
  }
  if (values.json) {
    io.stdout.write(`${JSON.stringify(stats)}\n`);
    return EXIT.ok;
  }
  const breakdown = (counts: Record<string, number>) =>
    Object.entries(counts)
      .sort((a, b) => b[1] - a[1])
      .map(([key, count]) => `${key} ${count}`)
      .join(', ') || '-';
  io.stdout.write(
    [
      `records     ${stats.count}`,
      `replayable  ${stats.replayable}`,
      `replayed    ${stats.replayedBefore} (failed at least one replay)`,
      `oldest      ${stats.oldest ?? '-'}`,
      `newest      ${stats.newest ?? '-'}`,
      `reasons     ${breakdown(stats.byReason)}`,
      `statuses    ${breakdown(stats.byStatus)}`,
      `methods     ${breakdown(stats.byMethod)}`,
      `hosts       ${breakdown(stats.byHost)}`,
    ].join('\n') + '\n',
  );
  return EXIT.ok;
}

/** Points a recorded URL at another origin (and path prefix), keeping its path and query. */
export function rebaseUrl(url: string, baseUrl: string): string {
  const base = new URL(baseUrl);
  const original = new URL(url);
  const prefix = base.pathname.replace(/\/+$/, '');
  return `${base.origin}${prefix}${original.pathname}${original.search}`;
}

function progressBar(progress: ReplayProgress, counts: Record<string, number>): string {
  const width = 24;
  const filled = progress.total === 0 ? width : Math.round((progress.done / progress.total) * width);
  const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
  return `\r[${bar}] ${progress.done}/${progress.total}  ok ${counts.succeeded ?? 0}  failed ${counts.failed ?? 0}  skipped ${counts.skipped ?? 0}`;
}

function resultLine(result: ReplayResult): string {
  switch (result.outcome) {
    case 'succeeded':
      return `succeeded ${result.id} ${result.status ?? ''}${result.error ? ` (${result.error})` : ''}`.trimEnd();
    case 'failed':
      return `failed    ${result.id} ${result.status ?? '-'} ${result.error ?? ''}`.trimEnd();
    case 'skipped':
      return `skipped   ${result.id} ${result.reason ?? ''}`.trimEnd();
    case 'dry-run':
      return `would replay ${result.id}`;
  }
}

async function replayCommand(sink: DeadLetterSink, values: Values, positionals: string[], io: CliIo): Promise<number> {
  const headers: Record<string, string> = {};
  for (const text of (values.header as string[] | undefined) ?? []) {
    const [name, value] = parseHeader(text);
    headers[name] = value;
  }
  const ids = [...positionals, ...((values.id as string[] | undefined) ?? [])];
  const concurrency = values.concurrency === undefined ? 1 : parseCount('concurrency', values.concurrency as string, 1);
  const limit = values.limit === undefined ? undefined : parseCount('limit', values.limit as string, 0);
  const maxAgeMs = values['max-age'] === undefined ? undefined : parseDuration('max-age', values['max-age'] as string);
  const timeout = values.timeout === undefined ? 30_000 : parseDuration('timeout', values.timeout as string);
  const baseUrl = values['base-url'] as string | undefined;
  if (baseUrl !== undefined) {
    try {
      new URL(baseUrl);
    } catch {
      throw usageError(`--base-url: expected an absolute URL, got ${JSON.stringify(baseUrl)}`);
    }
  }

  const instance = io.createInstance
    ? io.createInstance({ headers, timeout })
    : axios.create({ headers, timeout, maxRedirects: 0 });
  if (baseUrl !== undefined) {
    instance.interceptors.request.use((config) => {
      if (config.url) config.url = rebaseUrl(config.url, baseUrl);
      return config;
    });
  }

  const tty = io.stderr.isTTY === true;
  const counts: Record<string, number> = {};
  const summary = await replay({
    instance,
    sink,
    ids: ids.length > 0 ? ids : undefined,
    limit,
    concurrency,
    maxAgeMs,
    force: values.force === true,
    dryRun: values['dry-run'] === true,
    onProgress(progress) {
      increment(counts, progress.result.outcome);
      if (tty) io.stderr.write(progressBar(progress, counts));
      else io.stdout.write(`${resultLine(progress.result)}\n`);
    },
  });
  if (tty) {
    io.stderr.write('\n');
    for (const result of summary.results) {
      if (result.outcome === 'failed' || result.outcome === 'skipped') io.stdout.write(`${resultLine(result)}\n`);
    }
  }
  io.stdout.write(
    values['dry-run']
      ? `dry run: ${summary.attempted} would be replayed, ${summary.skipped} skipped\n`
      : `replayed ${summary.attempted}: ${summary.succeeded} succeeded, ${summary.failed} failed, ${summary.skipped} skipped\n`,
  );
  if (summary.failed > 0) return EXIT.replayFailed;
  if (summary.results.some((result) => result.reason === 'not-found')) return EXIT.notFound;
  return EXIT.ok;
}

async function purgeCommand(sink: DeadLetterSink, values: Values, io: CliIo): Promise<number> {
  if (values.yes !== true) throw usageError('purge removes records for good: add --yes to confirm');
  const olderThan =
    values['older-than'] === undefined ? undefined : parseDuration('older-than', values['older-than'] as string);
  const cutoff = olderThan === undefined ? Infinity : (io.now ?? Date.now)() - olderThan;
  const doomed: string[] = [];
  for await (const record of sinkRecords(sink)) {
    const created = Date.parse(record.createdAt);
    if (olderThan === undefined || (Number.isFinite(created) && created < cutoff)) doomed.push(record.id);
  }
  let removed = 0;
  // In batches, so a file sink flushes many tombstones with one fsync.
  for (let start = 0; start < doomed.length; start += 100) {
    const outcomes = await Promise.all(doomed.slice(start, start + 100).map((id) => sink.remove(id)));
    removed += outcomes.filter(Boolean).length;
  }
  io.stdout.write(`purged ${removed} record${removed === 1 ? '' : 's'}\n`);
  return EXIT.ok;
}

function parse(argv: readonly string[]): { command: string | undefined; positionals: string[]; values: Values } {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw usageError(oneLine(error));
  }
  const [command, ...positionals] = parsed.positionals;
  return { command, positionals, values: parsed.values as Values };
}

function checkApplicable(command: string, values: Values, positionals: string[]): void {
  const allowed = COMMAND_OPTIONS[command];
  if (!allowed) throw usageError(`unknown command ${JSON.stringify(command)}`);
  for (const name of Object.keys(values) as OptionName[]) {
    if (values[name] !== undefined && !allowed.includes(name) && !SINK_OPTIONS.includes(name)) {
      throw usageError(`--${name} does not apply to ${command}`);
    }
  }
  if (command === 'show' && positionals.length !== 1) throw usageError('show takes exactly one record id');
  if (positionals.length > 0 && command !== 'show' && command !== 'replay') {
    throw usageError(`${command} takes no arguments, got ${JSON.stringify(positionals[0])}`);
  }
}

/**
 * Runs the CLI in process: `argv` without the node and script paths. Resolves the exit code; never throws
 * and never calls `process.exit`.
 */
export async function runCli(argv: readonly string[], io: Partial<CliIo> = {}): Promise<number> {
  const streams: CliIo = {
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    env: io.env ?? process.env,
    createInstance: io.createInstance,
    now: io.now,
  };
  let opened: OpenedSink | undefined;
  try {
    const { command, positionals, values } = parse(argv);
    if (values.help || command === 'help') {
      streams.stdout.write(USAGE);
      return EXIT.ok;
    }
    if (command === undefined) throw usageError('no command given: list, show, stats, replay, purge or compact');
    checkApplicable(command, values, positionals);
    opened = await openSink(values, streams.env);
    const { sink } = opened;
    switch (command) {
      case 'list':
        return await listCommand(sink, values, streams);
      case 'show': {
        const { record } = await showCommand(sink, positionals);
        streams.stdout.write(`${JSON.stringify(record, null, 2)}\n`);
        return EXIT.ok;
      }
      case 'stats':
        return await statsCommand(sink, values, streams);
      case 'replay':
        return await replayCommand(sink, values, positionals, streams);
      case 'purge':
        return await purgeCommand(sink, values, streams);
      case 'compact': {
        if (!opened.compact) throw usageError('compact works on file sinks only');
        await opened.compact();
        streams.stdout.write('compacted\n');
        return EXIT.ok;
      }
      default:
        throw usageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (error) {
    const exitCode = error instanceof CliError ? error.exitCode : EXIT.notFound;
    streams.stderr.write(`${PROGRAM}: error: ${oneLine(error)}\n`);
    return exitCode;
  } finally {
    await opened?.sink.close?.().catch(() => undefined);
  }
}

function invokedDirectly(): boolean {
  try {
    return typeof require !== 'undefined' && typeof module !== 'undefined' && require.main === module;
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  void runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
