import { Redis } from '@upstash/redis';
import { Ratelimit } from '@upstash/ratelimit';
import {
  startRedisServer,
  startUpstashBridge,
  stripUnknownScriptFlags,
  type RedisServer,
  type UpstashBridge,
} from '@axios-resilience/testkit';

let server: RedisServer;
let bridge: UpstashBridge;

beforeAll(async () => {
  server = await startRedisServer();
  bridge = await startUpstashBridge({ redisUrl: server.url, token: 'test-token' });
});

afterAll(async () => {
  await bridge?.close();
  await server?.stop();
});

beforeEach(() => bridge.resetStats());

interface ClientOptions {
  responseEncoding?: false | 'base64';
  token?: string;
  enableAutoPipelining?: boolean;
  automaticDeserialization?: boolean;
}

function client(options: ClientOptions = {}) {
  return new Redis({
    automaticDeserialization: options.automaticDeserialization,
    url: bridge.url,
    token: options.token ?? bridge.token,
    retry: { retries: 0 },
    enableTelemetry: false,
    responseEncoding: options.responseEncoding,
    enableAutoPipelining: options.enableAutoPipelining,
  });
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${bridge.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bridge.token}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as unknown };
}

describe('stripUnknownScriptFlags', () => {
  it('drops the flags stock Redis refuses and the whole first line when none remain', () => {
    expect(stripUnknownScriptFlags('#!lua flags=allow-key-locking\nreturn 1')).toBe('\nreturn 1');
    expect(stripUnknownScriptFlags('#!lua flags=allow-key-locking,no-writes\nreturn 1')).toBe(
      '#!lua flags=no-writes\nreturn 1',
    );
  });

  it('leaves scripts without a shebang or with known flags unchanged', () => {
    expect(stripUnknownScriptFlags('return 1')).toBe('return 1');
    expect(stripUnknownScriptFlags('#!lua flags=no-writes\nreturn 1')).toBe('#!lua flags=no-writes\nreturn 1');
    expect(stripUnknownScriptFlags('#!lua\nreturn 1')).toBe('#!lua\nreturn 1');
  });
});

describe('startUpstashBridge: the REST protocol', () => {
  it('refuses a missing or wrong bearer token with 401', async () => {
    const noToken = await fetch(`${bridge.url}/`, { method: 'POST', body: '["PING"]' });
    expect(noToken.status).toBe(401);
    await noToken.arrayBuffer();
    await expect(client({ token: 'wrong' }).set('k', 'v')).rejects.toThrow(/Unauthorized/);
    expect(bridge.stats.unauthorized).toBe(2);
  });

  it('answers one command at / with {result} and a sync token, and a Redis error with 400 {error}', async () => {
    const ok = await post('/', ['SET', 'plain', 'value']);
    expect(ok).toMatchObject({ status: 200, body: { result: 'OK' } });
    expect(ok.headers.get('upstash-sync-token')).toEqual(expect.any(String));
    expect(await post('/', ['GET', 'missing-key'])).toMatchObject({ status: 200, body: { result: null } });
    expect(await post('/', ['INCR', 'plain'])).toEqual(
      expect.objectContaining({ status: 400, body: { error: 'ERR value is not an integer or out of range' } }),
    );
    expect(bridge.stats.singleRequests).toBe(3);
  });

  it('converts numbers and booleans to bulk strings', async () => {
    await post('/', ['SET', 'number', 42]);
    await post('/', ['SET', 'flag', true]);
    expect(await post('/', ['INCRBY', 'number', 8])).toMatchObject({ body: { result: 50 } });
    expect(await post('/', ['GET', 'flag'])).toMatchObject({ body: { result: 'true' } });
  });

  it('base64-encodes every string at every depth when asked, but never numbers, null or errors', async () => {
    const encoded = await post('/', ['EVAL', "return {1, 'a', {2, 'é'}, false}", 0], { 'upstash-encoding': 'base64' });
    expect(encoded.body).toEqual({
      result: [1, Buffer.from('a').toString('base64'), [2, Buffer.from('é').toString('base64')], null],
    });
    const failed = await post('/', ['INCR', 'plain'], { 'upstash-encoding': 'base64' });
    expect(failed.body).toEqual({ error: 'ERR value is not an integer or out of range' });
  });

  it('round-trips strings through the SDK with and without base64', async () => {
    const samples = ['hello', 'OK', 'ünïcödé ✓ 🎉', '{"json":true}', '  spaced  ', 'line\nbreak', ''];
    for (const encoding of ['base64', false] as const) {
      // Raw strings: the SDK would otherwise parse the JSON sample into an object.
      const redis = client({ responseEncoding: encoding, automaticDeserialization: false });
      for (const [index, sample] of samples.entries()) {
        const key = `round-trip:${encoding}:${index}`;
        await redis.set(key, sample);
        expect(await redis.get<string>(key)).toBe(sample);
      }
    }
  });

  it('returns pipeline results in order, with errors per item', async () => {
    const redis = client();
    await redis.set('text', 'not a number');
    const results = await redis
      .pipeline()
      .set('counter', 1)
      .incr('text')
      .incr('counter')
      .get('counter')
      .exec({ keepErrors: true });
    expect(results.map((item) => item.error ?? item.result)).toEqual([
      'OK',
      'ERR value is not an integer or out of range',
      2,
      2,
    ]);
  });

  it('runs a transaction at /multi-exec with runtime errors per item, and answers 400 when Redis discards it', async () => {
    const redis = client();
    await redis.set('tx-text', 'abc');
    const results = await redis.multi().set('tx-a', 'x').incr('tx-text').get('tx-a').exec({ keepErrors: true });
    expect(results.map((item) => item.error ?? item.result)).toEqual([
      'OK',
      'ERR value is not an integer or out of range',
      'x',
    ]);
    const discarded = await post('/multi-exec', [
      ['SET', 'tx-b', '1'],
      ['SET', 'only-one-arg'],
    ]);
    expect(discarded.status).toBe(400);
    expect(discarded.body).toEqual({ error: expect.stringMatching(/^EXECABORT/) });
    expect(await redis.exists('tx-b')).toBe(0);
    expect(bridge.stats.multiExecRequests).toBe(2);
  });

  it('passes Redis errors verbatim, so an unknown script falls back from EVALSHA to EVAL', async () => {
    const redis = client({ enableAutoPipelining: false });
    await expect(redis.evalsha('0123456789abcdef0123456789abcdef01234567', [], [])).rejects.toThrow(
      /NOSCRIPT No matching script/,
    );
    const script = "#!lua flags=allow-key-locking\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])";
    expect(await redis.eval(script, ['script-counter'], [5])).toBe(5);
    const sha = await redis.scriptLoad(script);
    // The client hashes what it sent; the bridge maps that hash to the stripped script Redis runs.
    expect(await redis.evalsha(sha, ['script-counter'], [2])).toBe(7);
    expect(await redis.scriptExists(sha)).toEqual([1]);
  });

  it('runs @upstash/ratelimit unmodified: the second limit() costs exactly one /pipeline request', async () => {
    const redis = client();
    const ratelimit = new Ratelimit({ redis, limiter: Ratelimit.fixedWindow(3, '10 s'), prefix: 'bridge-test' });
    const first = await ratelimit.limit('user');
    expect(first).toMatchObject({ success: true, limit: 3, remaining: 2 });
    // The first call meets NOSCRIPT for the SDK's hash and falls back to EVAL, which teaches the bridge the mapping.
    expect(bridge.stats.pipelineRequests).toBe(2);

    bridge.resetStats();
    const second = await ratelimit.limit('user');
    expect(second).toMatchObject({ success: true, remaining: 1 });
    expect(bridge.stats).toMatchObject({ requests: 1, pipelineRequests: 1 });

    await ratelimit.limit('user');
    const refused = await ratelimit.limit('user');
    expect(refused).toMatchObject({ success: false, remaining: 0 });
    expect(refused.reset).toBeGreaterThan(Date.now());
  });

  it('runs every @upstash/ratelimit algorithm against real Redis', async () => {
    const redis = client();
    for (const [name, limiter] of [
      ['sliding', Ratelimit.slidingWindow(2, '10 s')],
      ['token', Ratelimit.tokenBucket(1, '10 s', 2)],
      ['fixed', Ratelimit.fixedWindow(2, '10 s')],
    ] as const) {
      const ratelimit = new Ratelimit({ redis, limiter, prefix: `algorithms-${name}`, ephemeralCache: false });
      const outcomes = [];
      for (let i = 0; i < 3; i += 1) outcomes.push((await ratelimit.limit('id')).success);
      expect(outcomes).toEqual([true, true, false]);
    }
  });

  it('answers 405 to other methods and 404 to unknown paths', async () => {
    const get = await fetch(`${bridge.url}/`, { headers: { authorization: `Bearer ${bridge.token}` } });
    expect(get.status).toBe(405);
    await get.arrayBuffer();
    expect((await post('/nowhere', ['PING'])).status).toBe(404);
  });
});

describe('startUpstashBridge: when Redis goes away', () => {
  it('fails fast with an error instead of hanging', async () => {
    const local = await startRedisServer();
    const localBridge = await startUpstashBridge({ redisUrl: local.url });
    try {
      const redis = new Redis({
        url: localBridge.url,
        token: localBridge.token,
        retry: { retries: 0 },
        enableTelemetry: false,
      });
      await redis.set('before', '1');
      await local.stop();
      const started = Date.now();
      await expect(redis.get('before')).rejects.toThrow(/Redis unavailable/);
      expect(Date.now() - started).toBeLessThan(4_000);
    } finally {
      await localBridge.close();
      await local.stop();
    }
  });
});
