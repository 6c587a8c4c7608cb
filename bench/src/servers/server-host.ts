import path from 'node:path';
import type {
  FlakyApiOptions,
  FlakyApiStats,
  FlakyScriptStep,
  LedgerAudit,
  UpstashBridgeStats,
} from '@axios-resilience/testkit';
import { startChild, type ChildHandle } from '../child-process';

/** What the flaky API saw: its counters and each `/charges` request as `[arrival epoch ms, status]`. */
export interface ArrivalReport {
  stats: FlakyApiStats;
  arrivals: Array<[number, number]>;
  charges: number;
}

export interface RemoteServer {
  id: number;
  url: string;
}

/** The parent's handle on the server process (`servers/host.ts`). */
export class ServerHost {
  private constructor(private readonly child: ChildHandle) {}

  static async start(): Promise<ServerHost> {
    const child = startChild(path.join(__dirname, 'host.ts'), { name: 'server process' });
    await child.ready;
    return new ServerHost(child);
  }

  flakyApi(options: FlakyApiOptions): Promise<RemoteServer> {
    return this.child.call('flaky-api', options);
  }

  schedule(server: RemoteServer, steps: FlakyScriptStep[]): Promise<void> {
    return this.child.call('flaky-api-schedule', { id: server.id, steps });
  }

  report(server: RemoteServer): Promise<ArrivalReport> {
    return this.child.call('flaky-api-report', { id: server.id });
  }

  /** The ledger audit for these orders, the server's counters, and how many orders were charged exactly once. */
  audit(
    server: RemoteServer,
    orderIds: string[],
  ): Promise<{ audit: LedgerAudit; stats: FlakyApiStats; chargedOnce: number }> {
    return this.child.call('flaky-api-audit', { id: server.id, orderIds });
  }

  plainServer(): Promise<RemoteServer> {
    return this.child.call('plain-server');
  }

  /** Starts redis-server and the Upstash bridge once; returns the bridge's address and token. */
  redis(): Promise<{ url: string; token: string }> {
    return this.child.call('redis', undefined, 60_000);
  }

  bridgeStats(): Promise<UpstashBridgeStats> {
    return this.child.call('bridge-stats');
  }

  close(server: RemoteServer): Promise<void> {
    return this.child.call('close', { id: server.id });
  }

  stop(): Promise<void> {
    return this.child.stop();
  }
}
