import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Redis, { ReplyError } from 'ioredis';
import { listenOnLoopback, readBody, sendJson } from './http-server';

export interface UpstashBridgeOptions {
  /** The redis-server to forward to, e.g. `startRedisServer()`'s `url`. */
  redisUrl: string;
  /** The bearer token clients must send. @default a random one */
  token?: string;
}

/** What the bridge has served, for tests that count round trips. */
export interface UpstashBridgeStats {
  /** Every HTTP request received, refused ones included. */
  requests: number;
  /** Requests to `/` (one command). */
  singleRequests: number;
  /** Requests to `/pipeline`. */
  pipelineRequests: number;
  /** Requests to `/multi-exec`. */
  multiExecRequests: number;
  /** Commands forwarded to Redis. */
  commands: number;
  /** Requests refused for a missing or wrong token. */
  unauthorized: number;
}

export interface UpstashBridge {
  /** `http://127.0.0.1:PORT`, the `url` to give `new Redis({ url, token })` from `@upstash/redis`. */
  url: string;
  token: string;
  stats: UpstashBridgeStats;
  /** Sets every counter back to 0. */
  resetStats(): void;
  /** Stops listening and disconnects from Redis; clients then get connection errors. */
  close(): Promise<void>;
}

type Argument = string | Buffer;
type Command = unknown[];
type Reply = { result: unknown } | { error: string };

/** Script flags stock Redis 7 accepts in a `#!lua` shebang; others (Upstash's `allow-key-locking`) are refused. */
const KNOWN_SCRIPT_FLAGS = new Set(['no-writes', 'allow-oom', 'allow-stale', 'no-cluster', 'allow-cross-slot-keys']);

/** The Redis is unreachable (as opposed to Redis answering with an error). */
class BackendError extends Error {}

function sha1(text: string): string {
  return createHash('sha1').update(text, 'utf8').digest('hex');
}

/**
 * Removes shebang flags stock Redis does not know, and the whole first line when no flag remains
 * (its newline is kept so error line numbers still match the client's script).
 */
export function stripUnknownScriptFlags(script: string): string {
  if (!script.startsWith('#!')) return script;
  const end = script.indexOf('\n');
  const firstLine = end === -1 ? script : script.slice(0, end);
  const rest = end === -1 ? '' : script.slice(end);
  const [engine, ...params] = firstLine.slice(2).trim().split(/\s+/);
  let changed = false;
  const kept: string[] = [];
  for (const param of params) {
    if (!param.startsWith('flags=')) {
      kept.push(param);
      continue;
    }
    const flags = param.slice('flags='.length).split(',').filter(Boolean);
    const known = flags.filter((flag) => KNOWN_SCRIPT_FLAGS.has(flag));
    if (known.length !== flags.length) changed = true;
    if (known.length > 0) kept.push(`flags=${known.join(',')}`);
  }
  if (!changed) return script;
  return (kept.length > 0 ? `#!${engine} ${kept.join(' ')}` : '') + rest;
}

function toArgument(value: unknown): Argument {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value === null || value === undefined) return '';
  return JSON.stringify(value);
}

/** Replies as Upstash sends them: with base64 on, every string at every depth is base64 of its bytes. */
function encodeValue(value: unknown, base64: boolean): unknown {
  if (Buffer.isBuffer(value)) return base64 ? value.toString('base64') : value.toString('utf8');
  if (typeof value === 'string') return base64 ? Buffer.from(value, 'utf8').toString('base64') : value;
  if (Array.isArray(value)) return value.map((item) => encodeValue(item, base64));
  return value ?? null;
}

function isReplyError(error: unknown): error is Error {
  return error instanceof ReplyError || (error instanceof Error && error.name === 'ReplyError');
}

/**
 * The Upstash REST protocol on a loopback port, in front of a real redis-server, so the unmodified
 * `@upstash/redis` and `@upstash/ratelimit` run against real Redis in tests: `POST /` (one command),
 * `/pipeline` and `/multi-exec`; bearer auth; `Upstash-Encoding: base64`; Redis errors verbatim; and the
 * script shebang flags stock Redis refuses stripped, with the client's script SHA-1s mapped to the
 * stripped scripts' so `EVALSHA` keeps working.
 */
export async function startUpstashBridge(options: UpstashBridgeOptions): Promise<UpstashBridge> {
  const token = options.token ?? randomBytes(16).toString('hex');
  const stats: UpstashBridgeStats = {
    requests: 0,
    singleRequests: 0,
    pipelineRequests: 0,
    multiExecRequests: 0,
    commands: 0,
    unauthorized: 0,
  };
  const connectionOptions = {
    lazyConnect: true,
    // Fail fast while Redis is down instead of queueing: a test stopping Redis must see errors, not a hang.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => 50,
    connectTimeout: 2_000,
    commandTimeout: 5_000,
    disconnectTimeout: 100,
  };
  const redis = new Redis(options.redisUrl, connectionOptions);
  redis.on('error', () => {});
  await redis.connect();
  // MULTI on the shared connection would swallow other clients' commands, so transactions get their own,
  // one at a time.
  let transactionRedis: Redis | undefined;
  let transactionQueue: Promise<unknown> = Promise.resolve();
  const shaMap = new Map<string, string>();
  let syncToken = 0;

  function translate(command: Command): { name: string; args: Argument[]; scriptSha?: string } {
    const [rawName, ...rawArgs] = command;
    const name = String(rawName).toLowerCase();
    const args = rawArgs.map(toArgument);
    if ((name === 'eval' || name === 'eval_ro' || name === 'script') && args.length > 0) {
      const scriptIndex = name === 'script' ? 1 : 0;
      const isLoad = name === 'script' && String(args[0]).toLowerCase() === 'load';
      if ((name !== 'script' || isLoad) && args.length > scriptIndex) {
        const original = String(args[scriptIndex]);
        const stripped = stripUnknownScriptFlags(original);
        const originalSha = sha1(original);
        if (stripped !== original) {
          shaMap.set(originalSha, sha1(stripped));
          args[scriptIndex] = stripped;
        }
        return { name, args, scriptSha: isLoad ? originalSha : undefined };
      }
      if (name === 'script' && String(args[0]).toLowerCase() === 'exists') {
        return {
          name,
          args: args.map((arg, index) => (index === 0 ? arg : (shaMap.get(String(arg).toLowerCase()) ?? arg))),
        };
      }
    }
    if ((name === 'evalsha' || name === 'evalsha_ro') && args.length > 0) {
      args[0] = shaMap.get(String(args[0]).toLowerCase()) ?? args[0];
    }
    return { name, args };
  }

  async function run(client: Redis, command: Command): Promise<unknown> {
    if (!Array.isArray(command) || command.length === 0) throw new ReplyError('ERR empty command');
    const { name, args, scriptSha } = translate(command);
    stats.commands += 1;
    let result: unknown;
    try {
      result = await client.callBuffer(name, ...args);
    } catch (error) {
      if (isReplyError(error)) throw error;
      throw new BackendError(`Redis unavailable: ${(error as Error).message}`);
    }
    // SCRIPT LOAD answers the SHA-1 of what the client sent, since that is what it will EVALSHA.
    return scriptSha ?? result;
  }

  async function settle(client: Redis, command: Command, base64: boolean): Promise<Reply> {
    try {
      return { result: encodeValue(await run(client, command), base64) };
    } catch (error) {
      if (isReplyError(error)) return { error: error.message };
      throw error;
    }
  }

  async function transaction(commands: Command[], base64: boolean): Promise<{ status: number; body: unknown }> {
    if (!transactionRedis) {
      transactionRedis = new Redis(options.redisUrl, connectionOptions);
      transactionRedis.on('error', () => {});
      await transactionRedis.connect().catch((error: Error) => {
        throw new BackendError(`Redis unavailable: ${error.message}`);
      });
    }
    const client = transactionRedis;
    const exec = async () => {
      await run(client, ['MULTI']);
      const queued = commands.map((command) =>
        run(client, command).then(
          () => undefined,
          (error: unknown) => error,
        ),
      );
      const queueErrors = await Promise.all(queued);
      const backendFailure = queueErrors.find((error) => error instanceof BackendError);
      if (backendFailure) throw backendFailure;
      let results: unknown;
      try {
        results = await run(client, ['EXEC']);
      } catch (error) {
        if (isReplyError(error)) return { status: 400, body: { error: error.message } };
        throw error;
      }
      const replies = (results as unknown[]).map((item) =>
        item instanceof Error ? { error: item.message } : { result: encodeValue(item, base64) },
      );
      return { status: 200, body: replies };
    };
    const next = transactionQueue.then(exec, exec);
    transactionQueue = next.catch(() => {});
    return next;
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    stats.requests += 1;
    const headers = { 'upstash-sync-token': String((syncToken += 1)) };
    if (request.method !== 'POST') return sendJson(response, 405, { error: 'ERR only POST is supported' }, headers);
    if (request.headers.authorization !== `Bearer ${token}`) {
      stats.unauthorized += 1;
      return sendJson(response, 401, { error: 'Unauthorized' }, headers);
    }
    const base64 = String(request.headers['upstash-encoding'] ?? '').toLowerCase() === 'base64';
    const path = new URL(request.url ?? '/', 'http://bridge').pathname.replace(/\/+$/, '') || '/';
    let body: unknown;
    try {
      body = JSON.parse((await readBody(request)).toString('utf8'));
    } catch {
      return sendJson(response, 400, { error: 'ERR failed to parse the request body as JSON' }, headers);
    }
    if (path === '/') {
      stats.singleRequests += 1;
      if (!Array.isArray(body))
        return sendJson(response, 400, { error: 'ERR the body must be a command array' }, headers);
      const reply = await settle(redis, body, base64);
      return sendJson(response, 'error' in reply ? 400 : 200, reply, headers);
    }
    if (path === '/pipeline' || path === '/multi-exec') {
      if (!Array.isArray(body) || !body.every(Array.isArray)) {
        return sendJson(response, 400, { error: 'ERR the body must be an array of command arrays' }, headers);
      }
      if (path === '/pipeline') {
        stats.pipelineRequests += 1;
        // Issued without awaiting in between, so they travel to Redis as one pipeline, in order.
        const replies = await Promise.all(body.map((command) => settle(redis, command as Command, base64)));
        return sendJson(response, 200, replies, headers);
      }
      stats.multiExecRequests += 1;
      const { status, body: replies } = await transaction(body as Command[], base64);
      return sendJson(response, status, replies, headers);
    }
    return sendJson(response, 404, { error: `ERR unknown endpoint ${path}` }, headers);
  }

  const listening = await listenOnLoopback((request, response) => {
    handle(request, response).catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      if (!response.headersSent) sendJson(response, error instanceof BackendError ? 503 : 500, { error: message });
      else response.destroy();
    });
  });

  let closed = false;
  return {
    url: listening.url,
    token,
    stats,
    resetStats() {
      for (const name of Object.keys(stats) as (keyof UpstashBridgeStats)[]) stats[name] = 0;
    },
    async close() {
      if (closed) return;
      closed = true;
      await listening.close();
      redis.disconnect();
      transactionRedis?.disconnect();
    },
  };
}
