/**
 * The servers of the benchmarks, in a process of their own so they never share the client's event loop:
 * the flaky payments API (rate-limited or faulty), a plain keep-alive JSON server, and redis-server with
 * the Upstash REST bridge in front of it. Driven over IPC by the bench (see `ServerHost`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  auditLedger,
  listenOnLoopback,
  startFlakyApi,
  startRedisServer,
  startUpstashBridge,
  type FlakyApi,
  type FlakyApiOptions,
  type FlakyScriptStep,
  type RedisServer,
  type UpstashBridge,
} from '@axios-resilience/testkit';
import { serveCommands } from '../child-process';
import type { ArrivalReport } from './server-host';

const closers = new Map<number, () => Promise<void>>();
const flakyApis = new Map<number, FlakyApi>();
let nextId = 1;
let redis: { server: RedisServer; bridge: UpstashBridge } | undefined;

const PLAIN_BODY = JSON.stringify({ id: 'ch_1', object: 'charge', status: 'succeeded', amount: 1000 });

/** Answers every request at once with the same small JSON, after reading the body: the cheapest fair server. */
function plainHandler(request: IncomingMessage, response: ServerResponse): void {
  request.resume();
  request.on('end', () => {
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(PLAIN_BODY) });
    response.end(PLAIN_BODY);
  });
}

serveCommands(
  {
    async 'flaky-api'(options: FlakyApiOptions) {
      const api = await startFlakyApi(options);
      const id = nextId++;
      flakyApis.set(id, api);
      closers.set(id, () => api.close());
      return { id, url: api.url };
    },
    'flaky-api-schedule'({ id, steps }: { id: number; steps: FlakyScriptStep[] }) {
      flakyApis.get(id)!.schedule(...steps);
      return null;
    },
    'flaky-api-report'({ id }: { id: number }): ArrivalReport {
      const api = flakyApis.get(id)!;
      return {
        stats: api.stats,
        arrivals: api.requests
          .filter((request) => request.url.startsWith('/charges'))
          .map((request) => [request.receivedAt, request.status ?? 0]),
        charges: api.ledger.length,
      };
    },
    'flaky-api-audit'({ id, orderIds }: { id: number; orderIds: string[] }) {
      const api = flakyApis.get(id)!;
      const wanted = new Set(orderIds);
      const perOrder = new Map<string, number>();
      for (const charge of api.ledger) {
        const orderId = String(charge.body.orderId);
        if (wanted.has(orderId)) perOrder.set(orderId, (perOrder.get(orderId) ?? 0) + 1);
      }
      const chargedOnce = [...perOrder.values()].filter((count) => count === 1).length;
      return { audit: auditLedger(api, orderIds), stats: api.stats, chargedOnce };
    },
    async 'plain-server'() {
      const server = await listenOnLoopback(plainHandler);
      server.server.keepAliveTimeout = 60_000;
      const id = nextId++;
      closers.set(id, () => server.close());
      return { id, url: server.url };
    },
    async redis() {
      if (!redis) {
        const server = await startRedisServer();
        const bridge = await startUpstashBridge({ redisUrl: server.url });
        redis = { server, bridge };
      }
      return { url: redis.bridge.url, token: redis.bridge.token };
    },
    'bridge-stats'() {
      return { ...redis!.bridge.stats };
    },
    async close({ id }: { id: number }) {
      const close = closers.get(id);
      closers.delete(id);
      flakyApis.delete(id);
      await close?.();
      return null;
    },
  },
  async () => {
    await Promise.allSettled([...closers.values()].map((close) => close()));
    if (redis) {
      await redis.bridge.close().catch(() => undefined);
      await redis.server.stop().catch(() => undefined);
    }
  },
);
