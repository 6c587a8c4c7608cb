import { assertKnownKeys, assertNonEmptyString, assertPlainObject, optionError } from '@axios-resilience/core';
import { isDeadLetterRecord, type DeadLetterRecord } from './record';
import { normaliseListOptions, type DeadLetterSink, type ListOptions } from './sink';

/**
 * The one method of an `@upstash/redis` client the sink uses (a `Redis` instance fits; so does any client
 * with the same `eval`). Every operation is a Lua script, so a record and its index entry always change
 * together and each call is one round trip.
 */
export interface UpstashSinkClient {
  /** Runs a Lua script atomically (`EVAL`) and resolves its reply; rejects when Redis cannot be reached. */
  eval(script: string, keys: string[], args: unknown[]): Promise<unknown>;
}

/** Options of `upstashSink`. */
export interface UpstashSinkOptions {
  /** An `@upstash/redis` client. Required. */
  redis: UpstashSinkClient;
  /**
   * The key prefix: records live in the hash `<key>:records` (id -> JSON) and their order in the sorted
   * set `<key>:ids` (every score 0, so members sort by id).
   * @default 'axios-resilience:dlq'
   */
  key?: string;
}

/** A sink in Redis, shared by every process that uses the same key prefix. */
export interface UpstashSink extends DeadLetterSink {
  /** The key prefix in use. */
  readonly key: string;
}

/** The key prefix `upstashSink` uses unless told otherwise. */
export const DEFAULT_UPSTASH_SINK_KEY = 'axios-resilience:dlq';

/** Records read per script call by `list`: keeps each reply (and Lua's `unpack`) small. */
const LIST_PAGE = 200;

const PUT_SCRIPT = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1`;

const GET_SCRIPT = `return redis.call('HGET', KEYS[1], ARGV[1])`;

const REMOVE_SCRIPT = `
local removed = redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return removed`;

// Returns id, json, id, json, ...; an id whose hash entry is missing (a half-written record from an older
// writer) is skipped, but still returned as the cursor so a page full of them cannot stall the listing.
const LIST_SCRIPT = `
local ids = redis.call('ZRANGEBYLEX', KEYS[2], ARGV[1], '+', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
if #ids == 0 then return out end
local values = redis.call('HMGET', KEYS[1], unpack(ids))
for i, id in ipairs(ids) do
  table.insert(out, id)
  if values[i] then table.insert(out, values[i]) else table.insert(out, '') end
end
return out`;

const SIZE_SCRIPT = `return redis.call('ZCARD', KEYS[2])`;

/**
 * `@upstash/redis` parses replies that look like JSON, so a stored record may come back as the object or
 * as its text depending on the client's `automaticDeserialization`; accept both.
 */
function readRecord(value: unknown): DeadLetterRecord | undefined {
  let parsed = value;
  if (typeof value === 'string') {
    if (value.length === 0) return undefined;
    try {
      parsed = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  return isDeadLetterRecord(parsed) ? parsed : undefined;
}

function resolveUpstashSinkOptions(options: UpstashSinkOptions): Required<UpstashSinkOptions> {
  assertPlainObject('upstashSink(options)', options);
  assertKnownKeys('upstashSink', options as unknown as Record<string, unknown>, ['redis', 'key']);
  const redis = options.redis as unknown;
  if (typeof redis !== 'object' || redis === null || typeof (redis as UpstashSinkClient).eval !== 'function') {
    throw optionError('upstashSink.redis', 'an @upstash/redis client (with eval)', redis);
  }
  const key = options.key ?? DEFAULT_UPSTASH_SINK_KEY;
  assertNonEmptyString('upstashSink.key', key);
  return { redis: options.redis, key };
}

/**
 * A sink in Redis through `@upstash/redis` (an optional peer dependency, never imported here): shared by
 * every process of an application, including serverless functions.
 */
export function upstashSink(options: UpstashSinkOptions): UpstashSink {
  const { redis, key } = resolveUpstashSinkOptions(options);
  const keys = [`${key}:records`, `${key}:ids`];

  return {
    key,
    async put(record) {
      if (!isDeadLetterRecord(record)) throw optionError('put(record)', 'a dead-letter record with an id', record);
      await redis.eval(PUT_SCRIPT, keys, [record.id, JSON.stringify(record)]);
    },
    async get(id) {
      return readRecord(await redis.eval(GET_SCRIPT, keys, [id]));
    },
    async list(listOptions?: ListOptions) {
      const { limit, after } = normaliseListOptions(listOptions);
      const records: DeadLetterRecord[] = [];
      let cursor = after;
      while (records.length < limit) {
        const want = Math.min(LIST_PAGE, limit - records.length);
        const reply = await redis.eval(LIST_SCRIPT, keys, [cursor === undefined ? '-' : `(${cursor}`, want]);
        const flat = Array.isArray(reply) ? reply : [];
        for (let index = 0; index + 1 < flat.length; index += 2) {
          const record = readRecord(flat[index + 1]);
          if (record) records.push(record);
          cursor = String(flat[index]);
        }
        if (flat.length / 2 < want) break;
      }
      return records;
    },
    async remove(id) {
      return Number(await redis.eval(REMOVE_SCRIPT, keys, [id])) > 0;
    },
    async size() {
      return Number(await redis.eval(SIZE_SCRIPT, keys, []));
    },
  };
}
