import axios from 'axios';
import { attachResilience } from 'axios-resilience';
import { describeFault, parseFaultSpec } from '@axios-resilience/chaos';
import { createChaosProxy } from '@axios-resilience/chaos/proxy';
import { startFlakyApi } from '@axios-resilience/testkit';
import { createCharge } from './article-client';
import { startCliProxy } from './cli-proxy';

/**
 * A payments API behind the chaos proxy, called by clients whose code is not touched for the test: only
 * the address they call changes. The proxy injects 429s, 503s, connection resets, latency and answers lost
 * after the API has charged; the ledger of the API tells what really happened.
 */

export type ClientKind = 'article' | 'resilient';
export type ProxyKind = 'api' | 'cli';

export interface ChaosRunOptions {
  /**
   * Charges each client makes, one after another.
   * @default 20
   */
  charges?: number;
  /**
   * Share of requests that get a fault.
   * @default 0.2
   */
  rate?: number;
  /**
   * The faults, in the CLI's `--faults` syntax.
   * @default '429,503,reset,latency=150,drop'
   */
  faults?: string;
  /**
   * Seed of the fault sequence; each client meets a proxy started with it.
   * @default 3
   */
  seed?: number;
  /**
   * `'api'`: `createChaosProxy` in this process; `'cli'`: the `axios-resilience-chaos-proxy` CLI in a child process.
   * @default 'api'
   */
  proxy?: ProxyKind;
  /**
   * The clients to run, in order.
   * @default ['article', 'resilient']
   */
  clients?: readonly ClientKind[];
  log?: (line: string) => void;
}

export interface ChargeFailure {
  customer: string;
  error: string;
  /** The API made the charge even though the client saw a failure. */
  charged: boolean;
}

export interface ClientReport {
  client: ClientKind;
  charges: number;
  completed: number;
  failures: ChargeFailure[];
  /** Faults in the order the proxy made them, with the charge they hit when known (1-based). */
  faults: Array<{ charge?: number; fault: string }>;
  /** Requests that reached the API through the proxy. */
  requestsAtApi: number;
  /** Charges in the API's ledger. */
  ledgerCharges: number;
  /** Customers the API charged more than once. */
  duplicates: number;
  /** Answers the API served from its idempotency store. */
  replayed: number;
  /** Retries the client made (known for the axios client). */
  retries?: number;
}

export interface ChaosRunReport {
  proxy: ProxyKind;
  rate: number;
  faults: string;
  seed: number;
  clients: ClientReport[];
  /** The CLI command used, in `cli` mode. */
  command?: string;
}

export const CLIENT_TITLES: Record<ClientKind, string> = {
  article: "the article's fetchWithBackoff + createCharge (retries 429 and 5xx; a network error ends the call)",
  resilient: 'an axios client with attachResilience (retry + an idempotency key per charge)',
};

function describeError(error: unknown): string {
  if (axios.isAxiosError(error)) return error.code ?? error.message;
  // Duck-typed rather than `instanceof Error`: fetch's errors may come from another realm (a test sandbox).
  const { message, cause } = (error ?? {}) as { message?: unknown; cause?: { code?: string; message?: string } };
  if (typeof message !== 'string') return String(error);
  return cause ? `${message} (${cause.code ?? cause.message})` : message;
}

/** Sends `charges` charges through one client and a fresh proxy in front of a fresh API. */
async function runClient(
  client: ClientKind,
  settings: Required<Omit<ChaosRunOptions, 'log' | 'clients'>>,
): Promise<ClientReport & { command?: string }> {
  const api = await startFlakyApi({ recordRequests: false });
  const faults: ClientReport['faults'] = [];
  let current = 0;
  let command: string | undefined;
  let proxyUrl: string;
  let stopProxy: () => Promise<void>;
  if (settings.proxy === 'api') {
    const proxy = await createChaosProxy({
      target: api.url,
      rate: settings.rate,
      faults: parseFaultSpec(settings.faults),
      seed: settings.seed,
      onFault: ({ fault }) => void faults.push({ charge: current, fault: describeFault(fault) }),
    });
    proxyUrl = proxy.url;
    stopProxy = () => proxy.close();
  } else {
    const proxy = await startCliProxy({
      target: api.url,
      rate: settings.rate,
      faults: settings.faults,
      seed: settings.seed,
    });
    command = proxy.command;
    proxyUrl = proxy.url;
    stopProxy = async () => {
      await proxy.stop();
      // The CLI's own log: `fault status 429: POST /charges`.
      for (const line of proxy.faultLines) faults.push({ fault: line.replace(/^fault (.*): \S+ \S+$/, '$1') });
    };
  }

  let retries: number | undefined;
  let charge: (customer: string, amount: number) => Promise<void>;
  if (client === 'article') {
    charge = async (customer, amount) => {
      const response = await createCharge(proxyUrl, amount, customer);
      await response.json();
    };
  } else {
    retries = 0;
    const instance = axios.create({ baseURL: proxyUrl, timeout: 5_000 });
    attachResilience(instance, {
      retry: { baseDelayMs: 100, jitterMs: 100, onRetry: () => void (retries! += 1) },
    });
    charge = async (customer, amount) => {
      await instance.post('/charges', new URLSearchParams({ amount: String(amount), customer, currency: 'usd' }));
    };
  }

  const failures: ChargeFailure[] = [];
  let completed = 0;
  try {
    for (let index = 1; index <= settings.charges; index += 1) {
      current = index;
      const customer = `cus_${String(index).padStart(2, '0')}`;
      try {
        await charge(customer, 1000 + index);
        completed += 1;
      } catch (error) {
        failures.push({ customer, error: describeError(error), charged: false });
      }
    }
  } finally {
    await stopProxy();
    await api.close();
  }

  const chargesPerCustomer = new Map<string, number>();
  for (const made of api.ledger) {
    const customer = String(made.body.customer);
    chargesPerCustomer.set(customer, (chargesPerCustomer.get(customer) ?? 0) + 1);
  }
  for (const failure of failures) failure.charged = chargesPerCustomer.has(failure.customer);
  return {
    client,
    charges: settings.charges,
    completed,
    failures,
    faults,
    requestsAtApi: api.stats.requests,
    ledgerCharges: api.ledger.length,
    duplicates: [...chargesPerCustomer.values()].filter((count) => count > 1).length,
    replayed: api.stats.replays,
    retries,
    command,
  };
}

function logClient(report: ClientReport, log: (line: string) => void): void {
  const faults = report.faults.map(({ charge, fault }) => (charge === undefined ? fault : `#${charge} ${fault}`));
  log(`   faults injected (${faults.length}): ${faults.join(', ') || 'none'}`);
  const retries = report.retries === undefined ? '' : ` after ${report.retries} retries`;
  log(`   completed ${report.completed} of ${report.charges} charges${retries}`);
  for (const failure of report.failures) {
    log(
      `     ${failure.customer}: ${failure.error}; ` +
        (failure.charged ? 'CHARGED anyway: the customer paid, the caller was told it failed' : 'not charged'),
    );
  }
  log(
    `   the API made ${report.ledgerCharges} charges, ${report.duplicates} customer(s) charged twice, ` +
      `${report.replayed} answer(s) replayed from its idempotency store`,
  );
}

export async function runChaosProxy(options: ChaosRunOptions = {}): Promise<ChaosRunReport> {
  const settings = {
    charges: options.charges ?? 20,
    rate: options.rate ?? 0.2,
    faults: options.faults ?? '429,503,reset,latency=150,drop',
    seed: options.seed ?? 3,
    proxy: options.proxy ?? 'api',
  };
  const clients = options.clients ?? ['article', 'resilient'];
  const log = options.log ?? (() => undefined);
  log(
    `A payments API behind the chaos proxy (${settings.proxy === 'api' ? 'createChaosProxy' : 'the CLI'}): ` +
      `rate ${settings.rate}, faults ${settings.faults}, seed ${settings.seed}`,
  );
  const reports: ClientReport[] = [];
  let command: string | undefined;
  for (const [index, client] of clients.entries()) {
    log('');
    log(`${index + 1}. ${CLIENT_TITLES[client]}, ${settings.charges} charges:`);
    const { command: used, ...report } = await runClient(client, settings);
    if (used) {
      command = used;
      log(`   proxy: ${used}`);
    }
    logClient(report, log);
    reports.push(report);
  }
  return { ...settings, clients: reports, command };
}

/** What must hold for the example to have made its point; empty when it did. */
export function chaosProblems(report: ChaosRunReport): string[] {
  const problems: string[] = [];
  const resilient = report.clients.find((client) => client.client === 'resilient');
  if (!resilient) return ['the resilient client did not run'];
  if (resilient.faults.length === 0) problems.push('the proxy injected no fault into the resilient client');
  if (resilient.completed !== resilient.charges) {
    problems.push(`the resilient client completed ${resilient.completed} of ${resilient.charges} charges`);
  }
  if (resilient.ledgerCharges !== resilient.charges || resilient.duplicates > 0) {
    problems.push(
      `the API made ${resilient.ledgerCharges} charges for ${resilient.charges} (${resilient.duplicates} duplicates)`,
    );
  }
  return problems;
}
