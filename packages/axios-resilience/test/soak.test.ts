import axios, { type AxiosInstance } from 'axios';
import { attachResilience, memorySink, replay, type ChaosFault, type ResilienceOptions } from 'axios-resilience';
import { createChaosProxy } from '@axios-resilience/chaos/proxy';
import { auditLedger, runChargeSoak, startFlakyApi, type FlakyApi } from '@axios-resilience/testkit';

const OPERATIONS = 2000;
const CONCURRENCY = 100;

/** 10 % 503, 5 % 429 with Retry-After, 2 % commit-then-drop, 1 % resets, as chaos faults. */
const chaosFaults: ChaosFault[] = [
  { kind: 'status', status: 503, weight: 10 },
  { kind: 'status', status: 429, retryAfter: 0.2, weight: 5 },
  { kind: 'drop-response', weight: 2 },
  { kind: 'network', code: 'ECONNRESET', weight: 1 },
];

/** Waits scaled down so a soak stays near 20 s; the decisions are the production ones. */
function pipeline(extra: Partial<ResilienceOptions> = {}) {
  const sink = memorySink();
  const options: ResilienceOptions = {
    retry: { baseDelayMs: 20, jitterMs: 40 },
    rateLimit: { limit: 900, intervalMs: 1000 },
    deadLetter: { sink },
    ...extra,
  };
  return { sink, options };
}

async function soakAndReplay(api: FlakyApi, instance: AxiosInstance, sink: ReturnType<typeof memorySink>) {
  // An outage mid-run (1,000 answers of 503 in a row) outlasts the retries, so the dead-letter queue and the
  // replay are part of every soak, not a path that happens to stay idle.
  const soak = await runChargeSoak({
    instance,
    operations: OPERATIONS,
    concurrency: CONCURRENCY,
    at: { done: OPERATIONS / 4, run: () => api.schedule(...new Array<number>(1000).fill(503)) },
  });
  const deadLettered = await sink.size();
  const summary = await replay({ instance, sink, concurrency: 10 });
  const audit = auditLedger(
    api,
    soak.operations.map((operation) => operation.orderId),
  );
  return { soak, deadLettered, summary, audit, left: await sink.size() };
}

function expectInvariants(result: Awaited<ReturnType<typeof soakAndReplay>>) {
  // During the run: every operation succeeded or is, visibly, in the dead-letter queue.
  expect(result.soak.failed).toBe(0);
  expect(result.soak.succeeded + result.soak.deadLettered).toBe(OPERATIONS);
  expect(result.deadLettered).toBe(result.soak.deadLettered);
  expect(result.deadLettered).toBeGreaterThan(0);
  expect(result.summary.succeeded).toBe(result.deadLettered);
  // After the replay: exactly one charge per operation.
  expect(result.summary.failed).toBe(0);
  expect(result.left).toBe(0);
  expect(result.audit.duplicates).toBe(0);
  expect(result.audit.missing).toEqual([]);
  expect(result.audit.charges).toBe(OPERATIONS);
  // The faults were real: attempts well above one per operation.
  expect(result.soak.attempts).toBeGreaterThan(OPERATIONS * 1.1);
}

describe(`soak: ${OPERATIONS} charges through the full pipeline`, () => {
  let api: FlakyApi | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  it('against a flaky API: 10 % 503, 5 % 429 with Retry-After, 2 % commit-then-drop, 1 % resets, a rate limit', async () => {
    api = await startFlakyApi({
      seed: 11,
      faults: { status503: 0.1, status429: 0.05, commitThenDrop: 0.02, reset: 0.01 },
      faultRetryAfterMs: 200,
      rateLimit: { limit: 1000, windowMs: 1000 },
      recordRequests: false,
    });
    const instance = axios.create({ baseURL: api.url, timeout: 5000 });
    const { sink, options } = pipeline();
    attachResilience(instance, options);
    const result = await soakAndReplay(api, instance, sink);
    expectInvariants(result);
    expect(api.stats.faults['commit-then-drop']).toBeGreaterThan(10);
  }, 120_000);

  it('with the faults made in process by attachChaos', async () => {
    api = await startFlakyApi({ rateLimit: { limit: 1000, windowMs: 1000 }, recordRequests: false });
    const instance = axios.create({ baseURL: api.url, timeout: 5000 });
    const injected: string[] = [];
    const { sink, options } = pipeline({
      chaos: { rate: 0.18, seed: 5, faults: chaosFaults, onFault: ({ fault }) => void injected.push(fault.kind) },
    });
    attachResilience(instance, options);
    const result = await soakAndReplay(api, instance, sink);
    expectInvariants(result);
    expect(injected.filter((kind) => kind === 'drop-response').length).toBeGreaterThan(10);
  }, 120_000);

  it('through the chaos proxy in front of the API', async () => {
    api = await startFlakyApi({ rateLimit: { limit: 1000, windowMs: 1000 }, recordRequests: false });
    const proxy = await createChaosProxy({ target: api.url, rate: 0.18, seed: 9, faults: chaosFaults });
    try {
      const instance = axios.create({ baseURL: proxy.url, timeout: 5000 });
      const { sink, options } = pipeline();
      attachResilience(instance, options);
      const result = await soakAndReplay(api, instance, sink);
      expectInvariants(result);
      const faults = Object.values(proxy.stats.faults).reduce((sum, count) => sum + count, 0);
      expect(faults).toBeGreaterThan(OPERATIONS * 0.1);
      expect(proxy.stats.faults['drop-response']).toBeGreaterThan(10);
    } finally {
      await proxy.close();
    }
  }, 120_000);
});
