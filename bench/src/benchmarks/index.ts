import type { Benchmark } from '../benchmark';
import { bundleSizeBenchmark } from './bundle-size';
import { cpuBenchmark, throughputBenchmark } from './cost';
import { goodputBenchmark } from './goodput';
import { memoryBenchmark } from './memory';
import { rateBenchmark } from './rate-precision';
import { herdBenchmark } from './thundering-herd';

/** Every benchmark, in the order of the issue. */
export const BENCHMARKS: Benchmark[] = [
  cpuBenchmark,
  throughputBenchmark,
  rateBenchmark,
  herdBenchmark,
  goodputBenchmark,
  memoryBenchmark,
  bundleSizeBenchmark,
];
