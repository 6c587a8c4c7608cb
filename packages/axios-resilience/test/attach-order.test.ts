import axios, { type AxiosInstance } from 'axios';
import {
  attachChaos,
  attachDeadLetter,
  attachIdempotency,
  attachRateLimit,
  attachRetry,
  getFailureSummary,
  memoryLimiter,
  memorySink,
  type MemorySink,
} from 'axios-resilience';
import { stubAdapter, type StubAdapter } from '@axios-resilience/testkit';

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [items.slice()];
  return items.flatMap((item, index) =>
    permutations([...items.slice(0, index), ...items.slice(index + 1)]).map((rest) => [item, ...rest]),
  );
}

type LayerName = 'idempotency' | 'rate-limit' | 'chaos' | 'retry' | 'dead-letter';

/** Every source of variation is fixed: keys, ids, jitter and the chaos draws come from counters and seeds. */
function attachers(instance: AxiosInstance, sink: MemorySink): Record<LayerName, () => void> {
  let keys = 0;
  let ids = 0;
  return {
    idempotency: () => attachIdempotency(instance, { generateKey: () => `key-${++keys}` }),
    'rate-limit': () => attachRateLimit(instance, { limiter: memoryLimiter({ limit: 10_000, intervalMs: 1000 }) }),
    chaos: () =>
      attachChaos(instance, {
        rate: 0.3,
        seed: 3,
        faults: [
          { kind: 'status', status: 503 },
          { kind: 'status', status: 429, retryAfter: 0 },
          { kind: 'network', code: 'ECONNRESET' },
        ],
      }),
    retry: () => attachRetry(instance, { baseDelayMs: 0, jitter: 'none', retryBudget: false, maxRetries: 3 }),
    'dead-letter': () => attachDeadLetter(instance, { sink, generateId: () => `dl-${++ids}` }),
  };
}

function answers(): StubAdapter {
  return stubAdapter((config) => {
    if (config.url === '/fail') return { status: 503 };
    if (config.url === '/invalid') return { status: 422, data: { error: 'bad amount' } };
    return { status: 200, data: { ok: true, url: config.url } };
  });
}

/** One fixed workload; returns what went over the wire, what callers got, and what was dead-lettered. */
async function runWorkload(order: readonly LayerName[]) {
  const adapter = answers();
  const instance = axios.create({ adapter, baseURL: 'https://api.example.test' });
  const sink = memorySink();
  const attach = attachers(instance, sink);
  for (const layer of order) attach[layer]();

  const calls: Array<() => Promise<unknown>> = [
    () => instance.post('/charges', { amount: 1 }),
    () => instance.put('/items/1', { name: 'x' }),
    () => instance.get('/things'),
    () => instance.post('/fail', { amount: 2 }),
    () => instance.post('/invalid', { amount: -1 }),
    () => instance.delete('/items/2'),
    () => instance.post('/charges', { amount: 3 }, { headers: { 'Idempotency-Key': 'caller-key' } }),
    () => instance.get('/fail'),
  ];
  const outcomes: unknown[] = [];
  for (const call of calls) {
    try {
      const response = (await call()) as { status: number };
      outcomes.push(response.status);
    } catch (error) {
      const summary = getFailureSummary(error);
      outcomes.push([summary?.reason, summary?.attempts, summary?.deadLetterId ?? null]);
    }
  }
  const wire = adapter.calls.map((config) => [
    config.method,
    config.url,
    config.headers.get('Idempotency-Key') ?? null,
    config.data ?? null,
    config.resilience?.attempt,
  ]);
  const records = (await sink.list()).map((record) => [
    record.id,
    record.method,
    record.url,
    record.reason,
    record.attempts,
  ]);
  return { wire, outcomes, records };
}

const allLayers: LayerName[] = ['idempotency', 'rate-limit', 'chaos', 'retry', 'dead-letter'];

describe('attach order does not matter', () => {
  let reference: Awaited<ReturnType<typeof runWorkload>>;

  beforeAll(async () => {
    reference = await runWorkload(allLayers);
  });

  it('the reference run exercised faults, retries, keys and the dead-letter queue', () => {
    const attempts = reference.wire.map((call) => call[4] as number);
    expect(Math.max(...attempts)).toBeGreaterThan(1);
    expect(reference.records.length).toBeGreaterThanOrEqual(2);
    expect(reference.wire.some((call) => call[2] === 'caller-key')).toBe(true);
    expect(reference.outcomes).toContainEqual(['not-retryable', 1, expect.any(String)]);
  });

  it.each(permutations(allLayers).map((order) => [order.join(' > '), order] as const))(
    'all five layers attached as %s: same wire, same outcomes, same dead letters',
    async (_label, order) => {
      expect(await runWorkload(order)).toEqual(reference);
    },
  );
});
