/** What the memory probe (`memory-probe.ts`, a process of its own) is asked and answers. */
export interface MemoryProbeOptions {
  /** Requests per phase; the heap is sampled after each. */
  phaseRequests: number;
  phases: number;
  /** Heap samples per phase, evenly spaced, the last at the phase's end (so the phases' ends are among them). */
  samplesPerPhase: number;
  /** Requests in flight at once while the phases run. */
  concurrency: number;
  /** Requests held in flight at once for the per-request figure. */
  inFlight: number;
}

export interface MemoryProbeResult {
  /** Every sample of heapUsed after full GCs, with the requests sent before it: `[requests, heapUsed]`. */
  heapSamples: Array<[requests: number, heapUsed: number]>;
  idleHeap: number;
  /** Extra heap per request held in flight, through the pipeline and through bare axios. */
  bytesPerInFlight: { pipeline: number; bare: number };
  guard: { size: number; maxEntries: number; bytesPerEntry: number };
  requests: number;
}

/**
 * Never reached. The window is 100 ms rather than a second: the sliding log keeps every send of its window
 * and scans them all on each request, so at this probe's pace a one-second window would make the run take
 * minutes (the CPU benchmark shows that cost); the memory it holds is bounded by the window either way.
 */
export const PROBE_RATE_LIMIT = { limit: 1_000_000, intervalMs: 100 };
