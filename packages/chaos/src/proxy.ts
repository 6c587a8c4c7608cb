/**
 * The chaos proxy (Node only): the same faults as a sidecar in front of any HTTP API.
 * @packageDocumentation
 * @module @axios-resilience/chaos/proxy
 */
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import {
  assertBoolean,
  assertClock,
  assertFunction,
  assertKnownKeys,
  assertNonEmptyString,
  assertPlainObject,
  optionError,
  systemClock,
  type Clock,
} from '@axios-resilience/core';
import {
  CHAOS_FAULT_KINDS,
  statusFaultHeaders,
  statusText,
  type ChaosFaultKind,
  type ResolvedChaosFault,
  type ResolvedStatusFault,
} from './fault';
import {
  FAULT_PICKER_KEYS,
  pickerFromResolved,
  resolveFaultPickerOptions,
  type FaultPickerOptions,
} from './fault-picker';
import { refuseInProduction } from './production-guard';

/** What `match` and `onFault` see of an incoming request. */
export interface ChaosProxyRequest {
  /** The HTTP method as the client sent it. */
  method: string;
  /** The path and query as the client sent them. */
  url: string;
  /** The request headers, lower-cased by Node. They may carry credentials: do not log them as they are. */
  headers: IncomingHttpHeaders;
}

/** What the proxy's `onFault` receives: the request and the fault about to be made. */
export interface ChaosProxyFaultState extends ChaosProxyRequest {
  /** The fault about to be made, defaults filled in. */
  fault: ResolvedChaosFault;
}

/** Options of `createChaosProxy`: where to forward, where to listen, and the faults to inject. */
export interface ChaosProxyOptions extends FaultPickerOptions {
  /** The API to stand in front of, `http://` or `https://`, optionally with a base path. Required. */
  target: string;
  /**
   * The port to listen on; 0 picks a free one (read it back from `port` or `url`).
   * @default 0
   */
  port?: number;
  /**
   * The interface to listen on.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * Which requests may get a fault; others are forwarded untouched and do not consume a draw. A `match` that
   * throws counts as no match.
   * @default every request
   */
  match?: (request: ChaosProxyRequest) => boolean | Promise<boolean>;
  /**
   * Called when a fault is chosen for a request. Errors it throws are ignored.
   * @default undefined
   */
  onFault?: (state: ChaosProxyFaultState) => void | Promise<void>;
  /**
   * The timers that latency and held requests wait on.
   * @default the global timers, read at call time
   */
  clock?: Clock;
  /**
   * Run even when `NODE_ENV` is `production`. Without it, starting there throws `ERR_CHAOS_REFUSED`.
   * @default false
   */
  allowInProduction?: boolean;
}

/** Live counters, updated as requests come and go. */
export interface ChaosProxyStats {
  /** Requests received. */
  requests: number;
  /** Requests sent on to the target (latency and drop-response faults included). */
  forwarded: number;
  /** Faults made, by kind. */
  faults: Record<ChaosFaultKind, number>;
  /** Requests the target could not be reached for (answered 502). */
  upstreamErrors: number;
}

/** A running chaos proxy; point the client at `url` instead of the target. */
export interface ChaosProxy {
  /** `http://HOST:PORT` */
  url: string;
  /** The port it listens on (the one picked when `port` was 0). */
  port: number;
  /** Counters of what it did so far. */
  stats: ChaosProxyStats;
  /** Stops listening, ends held requests and open connections, and closes the connections to the target. */
  close(): Promise<void>;
}

const KNOWN_KEYS: readonly string[] = [
  ...FAULT_PICKER_KEYS,
  'target',
  'port',
  'host',
  'match',
  'onFault',
  'clock',
  'allowInProduction',
];

/**
 * Headers that describe one connection rather than the message (RFC 9110 section 7.6.1). They are not
 * forwarded: each side of the proxy has its own connection. `transfer-encoding` stays: Node decodes and
 * re-encodes chunked bodies itself when the header is present.
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'upgrade']);

/** Raw headers (`[name, value, name, value, ...]`) minus hop-by-hop ones, with `host` optionally replaced. */
function forwardableHeaders(rawHeaders: readonly string[], host?: string): string[] {
  const dropped = new Set(HOP_BY_HOP);
  for (let index = 0; index < rawHeaders.length; index += 2) {
    if (rawHeaders[index].toLowerCase() === 'connection') {
      for (const token of rawHeaders[index + 1].split(',')) dropped.add(token.trim().toLowerCase());
    }
  }
  const headers: string[] = [];
  for (let index = 0; index < rawHeaders.length; index += 2) {
    const name = rawHeaders[index];
    const lower = name.toLowerCase();
    if (dropped.has(lower)) continue;
    headers.push(name, host !== undefined && lower === 'host' ? host : rawHeaders[index + 1]);
  }
  // An HTTP/1.0 client may send no Host; the target still needs one.
  if (host !== undefined && !headers.some((name, index) => index % 2 === 0 && name.toLowerCase() === 'host')) {
    headers.unshift('Host', host);
  }
  return headers;
}

function parseTarget(target: unknown): URL {
  assertNonEmptyString('chaosProxy.target', target);
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw optionError('chaosProxy.target', 'an absolute http:// or https:// URL', target);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw optionError('chaosProxy.target', 'an absolute http:// or https:// URL', target);
  }
  return url;
}

function destroySocket(socket: Socket): void {
  // A reset (RST) rather than a polite close: the client sees ECONNRESET, as from a crashed peer.
  if (typeof socket.resetAndDestroy === 'function' && !socket.destroyed) {
    try {
      socket.resetAndDestroy();
      return;
    } catch {}
  }
  socket.destroy();
}

/**
 * Starts a reverse proxy on `node:http` in front of `target` that injects the same faults as `attachChaos`,
 * for clients you cannot change (another language, a staging deployment): the article's Toxiproxy role.
 * Requests and answers stream through untouched (only `host` is rewritten and connection headers dropped);
 * connections to the target are kept alive.
 * - status: answered locally, nothing forwarded
 * - network: the client connection is reset, nothing forwarded
 * - latency: held for `ms`, then forwarded
 * - timeout: held without an answer until the client gives up (at most `ms`, then the connection is reset)
 * - drop-response: forwarded; once the target has answered in full, the client connection is reset (or held,
 *   with `error: 'timeout'`)
 */
export async function createChaosProxy(options: ChaosProxyOptions): Promise<ChaosProxy> {
  assertPlainObject('chaosProxy', options);
  assertKnownKeys('chaosProxy', options as unknown as Record<string, unknown>, KNOWN_KEYS);
  const target = parseTarget(options.target);
  const { port = 0, host = '127.0.0.1', match, onFault, clock = systemClock, allowInProduction = false } = options;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw optionError('chaosProxy.port', 'an integer from 0 to 65535', port);
  }
  assertNonEmptyString('chaosProxy.host', host);
  if (match !== undefined) assertFunction('chaosProxy.match', match);
  if (onFault !== undefined) assertFunction('chaosProxy.onFault', onFault);
  assertClock('chaosProxy.clock', clock);
  assertBoolean('chaosProxy.allowInProduction', allowInProduction);
  const pick = pickerFromResolved(
    resolveFaultPickerOptions(options as unknown as Record<string, unknown>, 'chaosProxy'),
  );
  refuseInProduction('createChaosProxy', allowInProduction);

  const transport = target.protocol === 'https:' ? https : http;
  const agent = new transport.Agent({ keepAlive: true });
  const basePath = target.pathname.replace(/\/+$/, '');
  const stats: ChaosProxyStats = {
    requests: 0,
    forwarded: 0,
    faults: Object.fromEntries(CHAOS_FAULT_KINDS.map((kind) => [kind, 0])) as Record<ChaosFaultKind, number>,
    upstreamErrors: 0,
  };
  const sockets = new Set<Socket>();
  const timers = new Set<unknown>();
  let closing = false;

  /** A timer that is cleared when the exchange ends early or the proxy closes. */
  function schedule(response: ServerResponse, ms: number, callback: () => void): void {
    const handle = clock.setTimeout(() => {
      timers.delete(handle);
      callback();
    }, ms);
    timers.add(handle);
    response.once('close', () => {
      if (timers.delete(handle)) clock.clearTimeout(handle);
    });
  }

  function answerLocally(request: IncomingMessage, response: ServerResponse, fault: ResolvedStatusFault) {
    request.resume();
    const body = Buffer.from(fault.body);
    const respond = () => {
      if (response.headersSent || response.destroyed) return;
      const reason = http.STATUS_CODES[fault.status] ?? statusText(fault.status);
      response.writeHead(fault.status, reason, statusFaultHeaders(fault, body.length));
      response.end(body);
    };
    if (request.readableEnded) respond();
    else request.once('end', respond);
  }

  function forward(
    request: IncomingMessage,
    response: ServerResponse,
    onAnswered?: (upstream: IncomingMessage) => void,
  ): void {
    stats.forwarded += 1;
    const upstreamRequest = transport.request({
      protocol: target.protocol,
      hostname: target.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: target.port,
      method: request.method,
      path: `${basePath}${request.url ?? '/'}`,
      headers: forwardableHeaders(request.rawHeaders, target.host) as unknown as http.OutgoingHttpHeaders,
      agent,
    });
    upstreamRequest.on('response', (upstream) => {
      if (onAnswered) {
        onAnswered(upstream);
        return;
      }
      response.writeHead(
        upstream.statusCode ?? 502,
        upstream.statusMessage,
        forwardableHeaders(upstream.rawHeaders) as unknown as http.OutgoingHttpHeaders,
      );
      upstream.pipe(response);
      upstream.on('error', () => response.destroy());
    });
    upstreamRequest.on('error', (error: NodeJS.ErrnoException) => {
      if (response.writableEnded || response.destroyed) return;
      if (response.headersSent) {
        response.destroy();
        return;
      }
      stats.upstreamErrors += 1;
      const body = JSON.stringify({
        error: { type: 'chaos-proxy', message: `Target unreachable: ${error.code ?? error.message}` },
      });
      response.writeHead(502, statusText(502), {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      });
      response.end(body);
    });
    response.once('close', () => {
      if (!response.writableFinished) upstreamRequest.destroy();
    });
    request.pipe(upstreamRequest);
  }

  function hold(request: IncomingMessage, response: ServerResponse, ms: number): void {
    request.resume();
    schedule(response, ms, () => destroySocket(request.socket));
  }

  async function decide(request: IncomingMessage): Promise<ResolvedChaosFault | undefined> {
    const summary: ChaosProxyRequest = {
      method: request.method ?? 'GET',
      url: request.url ?? '/',
      headers: request.headers,
    };
    if (match) {
      try {
        if ((await match(summary)) !== true) return undefined;
      } catch {
        return undefined;
      }
    }
    const fault = pick();
    if (fault && onFault) {
      try {
        Promise.resolve(onFault({ ...summary, fault })).catch(() => undefined);
      } catch {}
    }
    return fault;
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    stats.requests += 1;
    const fault = await decide(request);
    if (closing || response.destroyed) return;
    if (!fault) {
      forward(request, response);
      return;
    }
    stats.faults[fault.kind] += 1;
    switch (fault.kind) {
      case 'status':
        answerLocally(request, response, fault);
        return;
      case 'network':
        destroySocket(request.socket);
        return;
      case 'latency':
        schedule(response, fault.ms, () => forward(request, response));
        return;
      case 'timeout':
        hold(request, response, fault.ms);
        return;
      case 'drop-response':
        forward(request, response, (upstream) => {
          // Read the answer to its end so the target has committed and its connection can be reused.
          upstream.resume();
          upstream.once('end', () => {
            if (fault.error === 'timeout') schedule(response, fault.ms, () => destroySocket(request.socket));
            else destroySocket(request.socket);
          });
          upstream.once('error', () => destroySocket(request.socket));
        });
        return;
    }
  }

  const server = http.createServer((request, response) => {
    handle(request, response).catch(() => response.destroy());
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_error, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address;

  let closed: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${address.port}`,
    port: address.port,
    stats,
    close() {
      closed ??= new Promise<void>((resolve) => {
        closing = true;
        for (const handle of timers) clock.clearTimeout(handle);
        timers.clear();
        server.close(() => {
          agent.destroy();
          resolve();
        });
        for (const socket of sockets) socket.destroy();
        agent.destroy();
      });
      return closed;
    },
  };
}
