/**
 * What the tests of the shared limiters need around them: a real redis-server behind the testkit's Upstash
 * REST bridge, `@upstash/redis` clients for it, and counts of arrivals per epoch-aligned window.
 */
import { Redis } from '@upstash/redis';
import { startRedisServer, startUpstashBridge, type RedisServer, type UpstashBridge } from '@axios-resilience/testkit';

export interface UpstashStore {
  redisServer: RedisServer;
  bridge: UpstashBridge;
  /** Closes the bridge, then stops Redis; safe after either was stopped by the test. */
  stop(): Promise<void>;
}

export async function startUpstashStore(): Promise<UpstashStore> {
  const redisServer = await startRedisServer();
  const bridge = await startUpstashBridge({ redisUrl: redisServer.url });
  return {
    redisServer,
    bridge,
    async stop() {
      await bridge.close();
      await redisServer.stop();
    },
  };
}

/** A client of its own, as another process would have; no retries, so a store failure shows at once. */
export function upstashClient(bridge: UpstashBridge): Redis {
  return new Redis({ url: bridge.url, token: bridge.token, retry: { retries: 0 }, enableTelemetry: false });
}

/** How many of `times` (epoch ms) fall in each epoch-aligned window of `windowMs`, earliest window first. */
export function countPerWindow(times: readonly number[], windowMs: number): number[] {
  const counts = new Map<number, number>();
  for (const time of times) {
    const window = Math.floor(time / windowMs);
    counts.set(window, (counts.get(window) ?? 0) + 1);
  }
  return [...counts.entries()].sort(([a], [b]) => a - b).map(([, count]) => count);
}
