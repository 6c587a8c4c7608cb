import { Redis } from '@upstash/redis';
import { startRedisServer, startUpstashBridge, type RedisServer, type UpstashBridge } from '@axios-resilience/testkit';
import { upstashSink } from '@axios-resilience/dlq';
import { describeSinkContract } from './sink-contract';
import { makeRecord } from './records';

let redisServer: RedisServer;
let bridge: UpstashBridge;
let redis: Redis;
let keys = 0;

beforeAll(async () => {
  redisServer = await startRedisServer();
  bridge = await startUpstashBridge({ redisUrl: redisServer.url, token: 'dlq-test-token' });
  redis = new Redis({ url: bridge.url, token: bridge.token, retry: { retries: 0 }, enableTelemetry: false });
}, 30_000);

afterAll(async () => {
  await bridge?.close();
  await redisServer?.stop();
});

describeSinkContract('upstashSink', async () => ({ sink: upstashSink({ redis, key: `contract:${(keys += 1)}` }) }));

describe('upstashSink in Redis', () => {
  it('keeps records in a hash and their order in a sorted set under its key', async () => {
    const sink = upstashSink({ redis, key: 'layout' });
    const record = makeRecord();
    await sink.put(record);
    expect(await redis.hget('layout:records', record.id)).toEqual(record);
    expect(await redis.zrange('layout:ids', 0, -1)).toEqual([record.id]);
    await sink.remove(record.id);
    expect(await redis.exists('layout:records', 'layout:ids')).toBe(0);
  });

  it('takes one round trip per operation', async () => {
    const sink = upstashSink({ redis, key: 'round-trips' });
    const record = makeRecord();
    bridge.resetStats();
    await sink.put(record);
    await sink.get(record.id);
    await sink.size();
    await sink.list();
    await sink.remove(record.id);
    expect(bridge.stats.requests).toBe(5);
  });

  it('reads ids that look like numbers back as the strings they were', async () => {
    const sink = upstashSink({ redis, key: 'numeric-ids' });
    await sink.put(makeRecord({ id: '12345' }));
    await sink.put(makeRecord({ id: '12346' }));
    expect((await sink.list()).map((record) => record.id)).toEqual(['12345', '12346']);
    expect((await sink.list({ after: '12345' })).map((record) => record.id)).toEqual(['12346']);
    expect((await sink.get('12345'))?.id).toBe('12345');
  });

  it('pages past its internal batch size', async () => {
    const sink = upstashSink({ redis, key: 'many' });
    const records = Array.from({ length: 450 }, () => makeRecord({ body: null, bodyEncoding: null }));
    await Promise.all(records.map((record) => sink.put(record)));
    expect((await sink.list()).map((record) => record.id)).toEqual(records.map((record) => record.id));
    expect((await sink.list({ limit: 250, after: records[100].id })).length).toBe(250);
    expect(await sink.size()).toBe(450);
  });

  it('reports a store it cannot reach as a rejection, not a crash', async () => {
    const unreachable = new Redis({
      url: 'http://127.0.0.1:9',
      token: 'x',
      retry: { retries: 0 },
      enableTelemetry: false,
    });
    await expect(upstashSink({ redis: unreachable }).size()).rejects.toThrow();
  });

  it('validates its options', () => {
    expect(() => upstashSink({ redis: {} as never })).toThrow(/upstashSink\.redis/);
    expect(() => upstashSink({ redis, key: '' })).toThrow(/upstashSink\.key/);
  });
});
