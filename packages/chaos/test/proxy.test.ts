import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';
import axios, { type AxiosError } from 'axios';
import { createChaosProxy, type ChaosProxy, type ChaosProxyOptions } from '@axios-resilience/chaos/proxy';
import type { ChaosFault } from '@axios-resilience/chaos';
import { isResilienceError } from '@axios-resilience/core';
import { sendJson, startTestServer, type TestServer } from '@axios-resilience/testkit';

interface Exchange {
  status: number;
  statusMessage: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
  reusedSocket: boolean;
}

/**
 * A plain Node request, so the test controls every header byte and the body's framing. Headers given as a
 * raw list go out verbatim, so the list must carry its own Host.
 */
function send(
  url: string,
  options: { method?: string; headers?: string[]; body?: Buffer | Readable; agent?: http.Agent } = {},
): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, {
      method: options.method ?? 'GET',
      headers: options.headers as unknown as http.OutgoingHttpHeaders,
      agent: options.agent,
    });
    request.on('error', reject);
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          statusMessage: response.statusMessage ?? '',
          headers: response.headers,
          rawHeaders: response.rawHeaders,
          body: Buffer.concat(chunks),
          reusedSocket: request.reusedSocket,
        }),
      );
    });
    if (options.body instanceof Readable) options.body.pipe(request);
    else request.end(options.body);
  });
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function pairs(rawHeaders: readonly string[]): [string, string][] {
  const result: [string, string][] = [];
  for (let index = 0; index < rawHeaders.length; index += 2) result.push([rawHeaders[index], rawHeaders[index + 1]]);
  return result;
}

async function failure(promise: Promise<unknown>): Promise<AxiosError> {
  try {
    await promise;
  } catch (error) {
    return error as AxiosError;
  }
  throw new Error('expected the request to fail');
}

let upstream: TestServer;
let proxy: ChaosProxy | undefined;
const rawHeadersSeen: string[][] = [];
const upstreamSockets: number[] = [];

beforeEach(async () => {
  rawHeadersSeen.length = 0;
  upstreamSockets.length = 0;
  upstream = await startTestServer((recorded, response, raw) => {
    rawHeadersSeen.push(raw.rawHeaders);
    upstreamSockets.push(raw.socket.remotePort ?? -1);
    sendJson(response, 200, { ok: true, url: recorded.url });
  });
});

afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  await upstream.close();
});

async function startProxy(options: Omit<ChaosProxyOptions, 'target'> & { target?: string } = {}): Promise<ChaosProxy> {
  proxy = await createChaosProxy({ target: upstream.url, rate: 0, ...options });
  return proxy;
}

function always(fault: ChaosFault) {
  return { rate: 1, faults: [fault] };
}

describe('createChaosProxy: pass-through', () => {
  it('passes a binary body and the headers through byte-identical, and the answer back the same way', async () => {
    const payload = Buffer.concat([
      Buffer.from(Array.from({ length: 256 }, (_, byte) => byte)),
      randomBytes(64 * 1024),
    ]);
    const reply = randomBytes(32 * 1024);
    upstream.setHandler((recorded, response, raw) => {
      rawHeadersSeen.push(raw.rawHeaders);
      response.writeHead(207, 'Multi Things', [
        'Content-Type',
        'application/octet-stream',
        'Set-Cookie',
        'a=1; Path=/',
        'Set-Cookie',
        'b=2; Path=/',
        'X-Echo-Hash',
        sha256(recorded.body),
        'Content-Length',
        String(reply.length),
      ]);
      response.end(reply);
    });
    const { url } = await startProxy();
    const sentHeaders = [
      'Host',
      new URL(url).host,
      'Content-Type',
      'application/octet-stream',
      'X-Custom-Case',
      'MiXeD value',
      'X-Dup',
      'one',
      'X-Dup',
      'two',
      'Authorization',
      'Bearer token',
      'Content-Length',
      String(payload.length),
    ];
    const exchange = await send(`${url}/upload?x=1&y=%20z`, { method: 'PUT', headers: sentHeaders, body: payload });

    expect(upstream.requests).toHaveLength(1);
    const received = upstream.requests[0];
    expect(received.method).toBe('PUT');
    expect(received.url).toBe('/upload?x=1&y=%20z');
    expect(received.body.equals(payload)).toBe(true);
    const forwarded = pairs(rawHeadersSeen[0]);
    expect(forwarded.find(([name]) => name.toLowerCase() === 'host')?.[1]).toBe(`127.0.0.1:${upstream.port}`);
    const withoutConnectionHeaders = ([name]: [string, string]) => !['host', 'connection'].includes(name.toLowerCase());
    expect(forwarded.filter(withoutConnectionHeaders)).toEqual(pairs(sentHeaders).filter(withoutConnectionHeaders));

    expect(exchange.status).toBe(207);
    expect(exchange.statusMessage).toBe('Multi Things');
    expect(exchange.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    expect(exchange.headers['x-echo-hash']).toBe(sha256(payload));
    expect(exchange.body.equals(reply)).toBe(true);
  });

  it('drops connection-scoped headers (and those Connection names) in both directions', async () => {
    upstream.setHandler((_recorded, response, raw) => {
      rawHeadersSeen.push(raw.rawHeaders);
      response.writeHead(200, [
        'Connection',
        'X-Upstream-Hop',
        'X-Upstream-Hop',
        '1',
        'X-Kept',
        'yes',
        'Content-Length',
        '0',
      ]);
      response.end();
    });
    const { url } = await startProxy();
    const exchange = await send(`${url}/hop`, {
      headers: [
        'Host',
        new URL(url).host,
        'Connection',
        'keep-alive, X-Hop',
        'X-Hop',
        'private',
        'Keep-Alive',
        'timeout=5',
        'X-End',
        'kept',
      ],
    });
    const forwardedNames = pairs(rawHeadersSeen[0]).map(([name]) => name.toLowerCase());
    expect(forwardedNames).toContain('x-end');
    expect(forwardedNames).not.toContain('x-hop');
    expect(forwardedNames).not.toContain('keep-alive');
    expect(exchange.headers['x-kept']).toBe('yes');
    expect(exchange.headers['x-upstream-hop']).toBeUndefined();
  });

  it('streams a large chunked body up and a large chunked answer down, unchanged', async () => {
    const size = 8 * 1024 * 1024;
    const big = randomBytes(size);
    upstream.setHandler((recorded, response) => {
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'x-received-hash': sha256(recorded.body) });
      // Written in pieces without a length, so the answer travels chunked too.
      let offset = 0;
      const writeMore = () => {
        while (offset < big.length) {
          const chunk = big.subarray(offset, offset + 100_000);
          offset += chunk.length;
          if (!response.write(chunk)) {
            response.once('drain', writeMore);
            return;
          }
        }
        response.end();
      };
      writeMore();
    });
    const { url } = await startProxy();
    const chunks = Array.from({ length: size / 65_536 }, (_, index) =>
      big.subarray(index * 65_536, (index + 1) * 65_536),
    );
    const exchange = await send(`${url}/stream`, {
      method: 'POST',
      headers: ['Host', new URL(url).host, 'Content-Type', 'application/octet-stream', 'Transfer-Encoding', 'chunked'],
      body: Readable.from(chunks),
    });
    expect(upstream.requests[0].headers['transfer-encoding']).toBe('chunked');
    expect(upstream.requests[0].body.length).toBe(size);
    expect(exchange.headers['x-received-hash']).toBe(sha256(big));
    expect(exchange.headers['transfer-encoding']).toBe('chunked');
    expect(exchange.body.length).toBe(size);
    expect(sha256(exchange.body)).toBe(sha256(big));
  });

  it('keeps connections alive: to the target and from the client', async () => {
    const { url } = await startProxy();
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await send(`${url}/one`, { agent });
      const second = await send(`${url}/two`, { agent });
      const third = await send(`${url}/three`, { agent });
      expect([first.status, second.status, third.status]).toEqual([200, 200, 200]);
      expect(second.reusedSocket).toBe(true);
      expect(third.reusedSocket).toBe(true);
      expect(upstreamSockets).toHaveLength(3);
      expect(new Set(upstreamSockets).size).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  it('joins the target base path and rewrites nothing else', async () => {
    const { url } = await startProxy({ target: `${upstream.url}/api/` });
    const response = await axios.get(`${url}/v1/items?limit=2`);
    expect(response.data).toEqual({ ok: true, url: '/api/v1/items?limit=2' });
  });

  it('answers 502 when the target cannot be reached', async () => {
    const gone = await startTestServer();
    await gone.close();
    const { url, stats } = await startProxy({ target: gone.url });
    const error = await failure(axios.get(`${url}/x`));
    expect(error.response?.status).toBe(502);
    expect(stats.upstreamErrors).toBe(1);
  });
});

describe('createChaosProxy: faults seen by a plain axios client and by the target', () => {
  it('status: answered locally with the status and Retry-After; the target receives nothing', async () => {
    const { url, stats } = await startProxy(always({ kind: 'status', status: 429 }));
    const error = await failure(axios.post(`${url}/charges`, { amount: 1 }));
    expect(error.response?.status).toBe(429);
    expect(error.response?.statusText).toBe('Too Many Requests');
    expect(error.response?.headers['retry-after']).toBe('1');
    expect(error.response?.data).toEqual({
      error: { type: 'chaos', message: 'Injected fault: 429 Too Many Requests' },
    });
    expect(upstream.requests).toHaveLength(0);
    expect(stats).toMatchObject({ requests: 1, forwarded: 0, faults: { status: 1 } });
  });

  it('status faults keep the client connection usable (keep-alive)', async () => {
    const { url } = await startProxy(always({ kind: 'status', status: 503 }));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await send(`${url}/a`, { method: 'POST', body: Buffer.from('x'.repeat(10_000)), agent });
      const second = await send(`${url}/b`, { agent });
      expect([first.status, second.status]).toEqual([503, 503]);
      expect(second.reusedSocket).toBe(true);
    } finally {
      agent.destroy();
    }
  });

  it('network: the client connection is reset (ECONNRESET); the target receives nothing', async () => {
    const { url, stats } = await startProxy(always({ kind: 'network' }));
    const error = await failure(axios.post(`${url}/charges`, { amount: 1 }));
    expect(error.code).toBe('ECONNRESET');
    expect(error.response).toBeUndefined();
    expect(upstream.requests).toHaveLength(0);
    expect(stats.faults.network).toBe(1);
  });

  it('drop-response: the target receives the request exactly once, the client gets a reset', async () => {
    const { url, stats } = await startProxy(always({ kind: 'drop-response' }));
    const error = await failure(axios.post(`${url}/charges`, { amount: 4200 }));
    expect(error.code).toBe('ECONNRESET');
    expect(error.response).toBeUndefined();
    expect(upstream.requests).toHaveLength(1);
    expect(JSON.parse(upstream.requests[0].body.toString())).toEqual({ amount: 4200 });
    expect(stats).toMatchObject({ forwarded: 1, faults: { 'drop-response': 1 } });
  });

  it('drop-response with error "timeout": the target commits, the client times out', async () => {
    const { url } = await startProxy(always({ kind: 'drop-response', error: 'timeout' }));
    const error = await failure(axios.post(`${url}/charges`, { amount: 1 }, { timeout: 300 }));
    expect(error.code).toBe('ECONNABORTED');
    expect(upstream.requests).toHaveLength(1);
  });

  it('timeout: no answer until the client gives up (ECONNABORTED); the target receives nothing', async () => {
    const { url, stats } = await startProxy(always({ kind: 'timeout' }));
    const error = await failure(axios.get(`${url}/slow`, { timeout: 250 }));
    expect(error.code).toBe('ECONNABORTED');
    expect(upstream.requests).toHaveLength(0);
    expect(stats.faults.timeout).toBe(1);
  });

  it('timeout: a client without a timeout is cut off after the hold cap', async () => {
    const { url } = await startProxy(always({ kind: 'timeout', ms: 100 }));
    const startedAt = Date.now();
    const error = await failure(axios.get(`${url}/slow`));
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(90);
    expect(error.code).toBe('ECONNRESET');
    expect(upstream.requests).toHaveLength(0);
  });

  it('latency: the request is held, then forwarded and answered', async () => {
    const { url, stats } = await startProxy(always({ kind: 'latency', ms: 150 }));
    const startedAt = Date.now();
    const response = await axios.post(`${url}/charges`, { amount: 1 });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(140);
    expect(response.status).toBe(200);
    expect(upstream.requests).toHaveLength(1);
    expect(JSON.parse(upstream.requests[0].body.toString())).toEqual({ amount: 1 });
    expect(stats).toMatchObject({ forwarded: 1, faults: { latency: 1 } });
  });

  it('match restricts faults; onFault reports each one', async () => {
    const reported: string[] = [];
    const { url } = await startProxy({
      ...always({ kind: 'status', status: 503 }),
      match: (request) => request.url.startsWith('/charges'),
      onFault: ({ fault, method, url: path }) => {
        reported.push(`${method} ${path} ${fault.kind}`);
        throw new Error('ignored');
      },
    });
    expect((await axios.get(`${url}/health`)).status).toBe(200);
    expect((await failure(axios.post(`${url}/charges`, {}))).response?.status).toBe(503);
    expect(upstream.requests.map((request) => request.url)).toEqual(['/health']);
    expect(reported).toEqual(['POST /charges status']);
  });

  it('the same seed gives the same sequence of outcomes', async () => {
    async function outcomes(seed: number): Promise<number[]> {
      const started = await createChaosProxy({
        target: upstream.url,
        rate: 0.5,
        seed,
        faults: [{ kind: 'status', status: 503 }],
      });
      try {
        const statuses: number[] = [];
        for (let index = 0; index < 30; index += 1) {
          statuses.push((await axios.get(`${started.url}/x`, { validateStatus: () => true })).status);
        }
        return statuses;
      } finally {
        await started.close();
      }
    }
    const first = await outcomes(8);
    expect(await outcomes(8)).toEqual(first);
    expect(new Set(first)).toEqual(new Set([200, 503]));
  });

  it('close() ends held requests at once and frees the port', async () => {
    const started = await startProxy(always({ kind: 'timeout', ms: 60_000 }));
    const pending = failure(axios.get(`${started.url}/held`));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await started.close();
    const error = await pending;
    expect(error.code).toBe('ECONNRESET');
    await expect(axios.get(`${started.url}/after`, { timeout: 1000 })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('createChaosProxy: guards and options', () => {
  const savedEnvironment = process.env.NODE_ENV;
  afterEach(() => {
    process.env.NODE_ENV = savedEnvironment;
  });

  it('refuses to start when NODE_ENV is production unless allowInProduction is set', async () => {
    process.env.NODE_ENV = 'production';
    const refused = await createChaosProxy({ target: upstream.url }).catch((error: unknown) => error);
    expect(isResilienceError(refused)).toBe(true);
    expect(refused).toMatchObject({ code: 'ERR_CHAOS_REFUSED' });
    const allowed = await startProxy({ allowInProduction: true });
    expect((await axios.get(`${allowed.url}/ok`)).status).toBe(200);
  });

  it.each([
    [{ target: '' }, /chaosProxy\.target: expected a non-empty string/],
    [{ target: 'ftp://example.test' }, /chaosProxy\.target: expected an absolute http:\/\/ or https:\/\/ URL/],
    [{ target: 'not a url' }, /chaosProxy\.target/],
    [{ target: 'http://127.0.0.1:1', port: 70_000 }, /chaosProxy\.port: expected an integer from 0 to 65535/],
    [{ target: 'http://127.0.0.1:1', rate: -1 }, /chaosProxy\.rate/],
    [{ target: 'http://127.0.0.1:1', faults: [{ kind: 'status', status: 302 }] }, /chaosProxy\.faults\[0\]\.status/],
    [{ target: 'http://127.0.0.1:1', upstream: 'x' }, /chaosProxy\.upstream: unknown option/],
  ])('refuses %p with a TypeError naming the option', async (options, message) => {
    await expect(createChaosProxy(options as never)).rejects.toThrow(TypeError);
    await expect(createChaosProxy(options as never)).rejects.toThrow(message);
  });
});
