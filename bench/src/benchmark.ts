import type { Table } from './format';
import type { ServerHost } from './servers/server-host';

/** What every benchmark gets from the runner. */
export interface BenchContext {
  /** Small counts and single rounds: keeps the harness working in CI, numbers not judged. */
  quick: boolean;
  /** A line of progress on the terminal. */
  progress(message: string): void;
  /** The server process, started on first use and shared. */
  servers(): Promise<ServerHost>;
  /** A scratch directory removed at the end. */
  tempDir: string;
}

/** One bar of the issue and whether this run meets it. */
export interface Verdict {
  bar: string;
  measured: string;
  met: boolean;
}

export interface BenchmarkResult {
  name: string;
  title: string;
  /** How it was measured (markdown). */
  method: string;
  tables: Table[];
  verdicts: Verdict[];
  /** Findings worth reading, losses first. */
  notes: string[];
  /** The raw numbers behind the tables, for `bench/results/<name>.json`. */
  data: unknown;
}

export interface Benchmark {
  name: string;
  title: string;
  run(context: BenchContext): Promise<BenchmarkResult>;
}
