/**
 * The memory probe, run in a process of its own with `--expose-gc`: sends requests through the whole
 * pipeline (stub adapter, no network) and reports the heap after full collections, what a request in
 * flight holds, and the idempotency reuse guard's size and cost. Driven over IPC (`measure`).
 */
import axios, { AxiosHeaders, type AxiosAdapter, type AxiosInstance, type AxiosResponse } from 'axios';
import { attachResilience } from 'axios-resilience';
import { createReuseGuard } from '@axios-resilience/idempotency';
import { memorySink } from '@axios-resilience/dlq';
import { serveCommands } from '../child-process';
import { chargeBody } from '../payloads';
import { PROBE_RATE_LIMIT, type MemoryProbeOptions, type MemoryProbeResult } from './memory-probe-options';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('memory-probe: start Node with --expose-gc');

function heapAfterGc(): number {
  for (let pass = 0; pass < 3; pass++) gc!();
  return process.memoryUsage().heapUsed;
}

const BODY = JSON.stringify({ id: 'ch_1', object: 'charge', status: 'succeeded', amount: 1000 });

/** Answers at once, or holds every request until `release()` when parked. */
function switchableAdapter() {
  let parked: Array<() => void> | undefined;
  const adapter: AxiosAdapter = (config) => {
    const response = {
      data: BODY,
      status: 200,
      statusText: 'OK',
      headers: new AxiosHeaders({ 'content-type': 'application/json' }),
      config,
      request: {},
    } as AxiosResponse;
    if (!parked) return Promise.resolve(response);
    const queue = parked;
    return new Promise((resolve) => queue.push(() => resolve(response)));
  };
  return {
    adapter,
    park: () => void (parked = []),
    held: () => parked?.length ?? 0,
    release: () => {
      const queue = parked ?? [];
      parked = undefined;
      for (const resolve of queue) resolve();
    },
  };
}

let sent = 0;

/**
 * A charge carrying the caller's own idempotency key (an order id), as an application that has one sends it:
 * such keys go through the reuse guard (generated ones do not), so its bound is exercised too.
 */
function charge(instance: AxiosInstance): Promise<unknown> {
  const index = sent++;
  return instance.post('/charges', chargeBody(index), { resilience: { idempotencyKey: `order-${index}` } });
}

/** A charge with a generated key: what stays in memory only while the request is in flight. */
function chargeWithGeneratedKey(instance: AxiosInstance): Promise<unknown> {
  return instance.post('/charges', chargeBody(sent++));
}

async function sendMany(
  instance: AxiosInstance,
  count: number,
  concurrency: number,
  send: (instance: AxiosInstance) => Promise<unknown> = charge,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next++ < count) await send(instance);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function bytesHeldInFlight(
  instance: AxiosInstance,
  control: ReturnType<typeof switchableAdapter>,
  count: number,
): Promise<number> {
  const idle = heapAfterGc();
  control.park();
  const pending = Array.from({ length: count }, () => chargeWithGeneratedKey(instance));
  // Every request reaches the adapter within a few turns of the event loop; bounded all the same.
  for (let turn = 0; turn < 10_000 && control.held() < count; turn++) await new Promise(setImmediate);
  if (control.held() < count) throw new Error(`only ${control.held()} of ${count} requests reached the adapter`);
  const held = heapAfterGc();
  control.release();
  await Promise.all(pending);
  return (held - idle) / count;
}

serveCommands({
  async measure(options: MemoryProbeOptions): Promise<MemoryProbeResult> {
    const control = switchableAdapter();
    const guard = createReuseGuard();
    const instance = axios.create({ baseURL: 'http://api.test', adapter: control.adapter });
    attachResilience(instance, {
      idempotency: { guard },
      rateLimit: PROBE_RATE_LIMIT,
      deadLetter: { sink: memorySink() },
    });
    const settle = async () => {
      // The rate limiter's log holds the last window of sends; let it age out so every sample sees the same.
      await pause(PROBE_RATE_LIMIT.intervalMs + 100);
      await charge(instance);
      return heapAfterGc();
    };
    const idleHeap = await settle();
    const heapSamples: Array<[number, number]> = [[0, idleHeap]];
    let phased = 0;
    for (let phase = 0; phase < options.phases; phase++) {
      for (let sample = 0; sample < options.samplesPerPhase; sample++) {
        // Evenly spaced, the last one at the phase's end whatever the rounding.
        const upTo = Math.round(((sample + 1) * options.phaseRequests) / options.samplesPerPhase);
        const before = Math.round((sample * options.phaseRequests) / options.samplesPerPhase);
        await sendMany(instance, upTo - before, options.concurrency);
        phased += upTo - before;
        heapSamples.push([phased, await settle()]);
      }
    }
    // What a request holds while in flight, on fresh instances warmed a little, with generated keys: what a
    // caller's key leaves in the guard outlives the request and is counted above, not here.
    const freshControl = switchableAdapter();
    const fresh = axios.create({ baseURL: 'http://api.test', adapter: freshControl.adapter });
    attachResilience(fresh, { rateLimit: PROBE_RATE_LIMIT, deadLetter: { sink: memorySink() } });
    await sendMany(fresh, 1_000, options.concurrency, chargeWithGeneratedKey);
    await pause(PROBE_RATE_LIMIT.intervalMs + 100);
    const pipeline = await bytesHeldInFlight(fresh, freshControl, options.inFlight);
    const bareControl = switchableAdapter();
    const bare = axios.create({ baseURL: 'http://api.test', adapter: bareControl.adapter });
    await sendMany(bare, 1_000, options.concurrency, chargeWithGeneratedKey);
    const bareBytes = await bytesHeldInFlight(bare, bareControl, options.inFlight);

    const size = guard.size;
    const withGuard = heapAfterGc();
    guard.clear();
    const withoutGuard = heapAfterGc();
    return {
      heapSamples,
      idleHeap,
      bytesPerInFlight: { pipeline, bare: bareBytes },
      guard: { size, maxEntries: 10_000, bytesPerEntry: size > 0 ? (withGuard - withoutGuard) / size : 0 },
      requests: phased,
    };
  },
});
