import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import path from 'node:path';

/** The repository root, for running sources under tsx with the workspace's path mapping. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

export interface TsxProcessOptions {
  /** Extra environment variables (over the parent's). */
  env?: Record<string, string | undefined>;
  /** @default the repository root */
  cwd?: string;
  /** @default ['ignore', 'pipe', 'pipe'] */
  stdio?: StdioOptions;
}

/**
 * Starts a TypeScript file in a child Node process through tsx, with `@axios-resilience/*` resolved to the
 * sources by the root tsconfig's paths: how the tests run CLIs, workers and examples as real processes.
 */
export function spawnTsx(file: string, args: readonly string[] = [], options: TsxProcessOptions = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...process.env, TSX_TSCONFIG_PATH: path.join(REPO_ROOT, 'tsconfig.json'), NODE_OPTIONS: '', ...options.env },
    stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
  });
}

export interface TsxResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a TypeScript file to completion and collects its output; killed after `timeoutMs`. */
export function runTsx(
  file: string,
  args: readonly string[] = [],
  options: TsxProcessOptions & { timeoutMs?: number } = {},
): Promise<TsxResult> {
  return new Promise((resolve, reject) => {
    const child = spawnTsx(file, args, options);
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
