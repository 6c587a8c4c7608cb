import path from 'node:path';
import { DEFAULT_REUSE_GUARD_OPTIONS } from '@axios-resilience/idempotency';
import type { Benchmark, BenchContext, BenchmarkResult } from '../benchmark';
import { startChild } from '../child-process';
import { PROBE_RATE_LIMIT, type MemoryProbeOptions, type MemoryProbeResult } from '../clients/memory-probe-options';
import { bytes, fixed, integer, spreadText, type Table } from '../format';
import { leastSquaresSlope, spread } from '../stats';

/** The heap's growth per request (the slope through the last two phases' samples) at or below which it is settled. */
const SETTLED_BYTES_PER_REQUEST = 5;

export const memoryBenchmark: Benchmark = {
  name: 'memory',
  title: '5. Memory: the heap after 150,000 requests through the full pipeline',
  async run(context: BenchContext): Promise<BenchmarkResult> {
    const rounds = context.quick ? 1 : 3;
    const options: MemoryProbeOptions = context.quick
      ? { phaseRequests: 2_000, phases: 3, samplesPerPhase: 2, concurrency: 50, inFlight: 500 }
      : { phaseRequests: 50_000, phases: 3, samplesPerPhase: 5, concurrency: 50, inFlight: 1_000 };
    const results: MemoryProbeResult[] = [];
    // Heap figures do not depend on the CPU the way timings do, so the rounds run side by side.
    context.progress(
      `${rounds} fresh process${rounds > 1 ? 'es' : ''} (--expose-gc), each ${options.phases} x ${integer(options.phaseRequests)} POSTs`,
    );
    const probes = Array.from({ length: rounds }, (_, round) =>
      startChild(path.join(__dirname, '..', 'clients', 'memory-probe.ts'), {
        name: `memory probe ${round + 1}`,
        nodeFlags: ['--expose-gc'],
      }),
    );
    try {
      results.push(
        ...(await Promise.all(
          probes.map(async (probe) => {
            await probe.ready;
            return probe.call<MemoryProbeResult>('measure', options, 400_000);
          }),
        )),
      );
    } finally {
      await Promise.all(probes.map((probe) => probe.stop()));
    }
    const phases = options.phases;
    // The heap at the start and at each phase's end: the samples taken after a whole number of phases.
    const heapAfterPhase = (result: MemoryProbeResult, phase: number) =>
      result.heapSamples.find(([requests]) => requests === phase * options.phaseRequests)![1];
    const sampleSpread = (index: number) => spread(results.map((result) => heapAfterPhase(result, index)));
    const growthLast = spread(
      results.map((result) => heapAfterPhase(result, phases) - heapAfterPhase(result, phases - 1)),
    );
    // Judged on every sample of the last two phases, from the end of the one before them: the heap of a settled
    // run still moves by a few hundred KiB from one sample to the next, which a slope through all of them shrugs
    // off, while a leak grows every sample and sets the slope.
    const judgedFrom = (phases - 2) * options.phaseRequests;
    const growthPerRequest = spread(
      results.map((result) => leastSquaresSlope(result.heapSamples.filter(([requests]) => requests >= judgedFrom))),
    );
    const judgedSamples = results[0].heapSamples.filter(([requests]) => requests >= judgedFrom).length;
    const heapTable: Table = {
      caption: 'Heap used after full GCs',
      columns: ['after', 'heapUsed', 'change from the previous sample'],
      rows: Array.from({ length: phases + 1 }, (_, index) => [
        index === 0 ? 'start (pipeline attached, idle)' : `${integer(index * options.phaseRequests)} requests`,
        spreadText(sampleSpread(index), bytes),
        index === 0
          ? ''
          : spreadText(
              spread(results.map((result) => heapAfterPhase(result, index) - heapAfterPhase(result, index - 1))),
              bytes,
            ),
      ]),
    };
    const inFlightPipeline = spread(results.map((result) => result.bytesPerInFlight.pipeline));
    const inFlightBare = spread(results.map((result) => result.bytesPerInFlight.bare));
    const guardBytes = spread(results.map((result) => result.guard.bytesPerEntry));
    const guardSize = spread(results.map((result) => result.guard.size));
    const figuresTable: Table = {
      caption: 'Per request and bounds',
      columns: ['figure', 'value'],
      rows: [
        [
          `heap per request held in flight (${integer(options.inFlight)} at once), full pipeline`,
          spreadText(inFlightPipeline, bytes),
        ],
        ['heap per request held in flight, bare axios', spreadText(inFlightBare, bytes)],
        [
          'idempotency reuse guard: keys held after the run (bound: maxEntries)',
          `${spreadText(guardSize, integer)} (bound ${integer(DEFAULT_REUSE_GUARD_OPTIONS.maxEntries)}, and keys older than 24 h are dropped)`,
        ],
        ['idempotency reuse guard: heap per key held', spreadText(guardBytes, bytes)],
        ['idempotency reuse guard: heap when full', bytes(guardBytes.median * DEFAULT_REUSE_GUARD_OPTIONS.maxEntries)],
        [
          `growth per request over the last ${integer(2 * options.phaseRequests)} requests (slope through ${judgedSamples} samples)`,
          spreadText(growthPerRequest, (v) => `${fixed(v, 2)} B`),
        ],
      ],
    };
    const settled = growthPerRequest.median <= SETTLED_BYTES_PER_REQUEST;
    const notes: string[] = [];
    if (guardSize.median > 0) {
      notes.push(
        `The heap rises while the reuse guard fills (one entry per caller's key until ${integer(DEFAULT_REUSE_GUARD_OPTIONS.maxEntries)} ` +
          `keys, about ${bytes(guardBytes.median * DEFAULT_REUSE_GUARD_OPTIONS.maxEntries)} when full) and ${settled ? 'is flat after' : 'then'}: ` +
          'the guard is bounded by size and by age.',
      );
    }
    notes.push(
      `A request in flight through the pipeline holds ${bytes(inFlightPipeline.median - inFlightBare.median)} more than ` +
        `through bare axios (${bytes(inFlightPipeline.median)} vs ${bytes(inFlightBare.median)}): the per-request state, ` +
        "the layers' promise steps and the rate limiter's log entry.",
    );
    return {
      name: this.name,
      title: `5. Memory: the heap after ${integer(options.phases * options.phaseRequests)} requests through the full pipeline`,
      method:
        `In a fresh Node process started with \`--expose-gc\` (${rounds} round${rounds > 1 ? 's' : ''}, one process each, run side ` +
        `by side): an ` +
        `axios instance with a stub adapter and \`attachResilience\` (retry, idempotency with its default reuse guard, an ` +
        `in-memory sliding-log limiter at ${integer(PROBE_RATE_LIMIT.limit)} per ${PROBE_RATE_LIMIT.intervalMs} ms, never reached ` +
        `(a one-second window would make the run take minutes: the log scans its window on every request, see 1a), a ` +
        `dead-letter queue with a memory sink) sends ${phases} x ` +
        `${integer(options.phaseRequests)} POSTs, ${options.concurrency} in flight, each carrying the caller's own ` +
        `idempotency key (an order id): keys from outside go through the reuse guard (generated ones are not recorded), ` +
        `so its bound is exercised. After every ${integer(options.phaseRequests / options.samplesPerPhase)} requests ` +
        `it waits for the limiter's log to age out, sends one request and samples \`heapUsed\` after three full ` +
        `GCs. "Settled" means the least-squares slope of the heap over the requests, through the samples of the last ` +
        `${integer(2 * options.phaseRequests)} (from the end of the first ${integer(options.phaseRequests)}), is at most ` +
        `${SETTLED_BYTES_PER_REQUEST} bytes per request (median over rounds): the heap of a settled run still moves by a ` +
        `few hundred KiB from sample to sample (the guard's tables are rebuilt as keys come and go), which a single ` +
        `difference between two samples takes for growth, while a leak of a ` +
        `single small object per request adds tens of bytes. The guard's cost per key is its heap at the end ` +
        `over the keys it holds (entries it has already let go of but not yet compacted away included). Then, on fresh ` +
        `instances warmed with 1,000 requests and with generated keys, ${integer(options.inFlight)} requests are held in the adapter ` +
        `at once and the extra heap is divided by their number, through the pipeline and through bare axios.`,
      tables: [heapTable, figuresTable],
      verdicts: [
        {
          bar: `5. the heap settles: no growth between the second and third ${integer(options.phaseRequests)} requests after a GC`,
          measured:
            `${spreadText(growthPerRequest, (v) => fixed(v, 2))} B per request (the slope through ${judgedSamples} samples); ` +
            `the last ${integer(options.phaseRequests)} alone: ${spreadText(growthLast, bytes)}`,
          met: settled,
        },
      ],
      notes,
      data: { rounds, options, results },
    };
  },
};
