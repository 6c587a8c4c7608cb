import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** The repository root, for running sources under tsx with the workspace's path mapping. */
export const REPO_ROOT = join(__dirname, '..', '..', '..');

/** Starts a TypeScript file in a child Node process through tsx, resolving `@axios-resilience/*` to sources. */
export function spawnTsx(
  file: string,
  args: readonly string[] = [],
  env: Record<string, string | undefined> = {},
): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, TSX_TSCONFIG_PATH: join(REPO_ROOT, 'tsconfig.json'), NODE_OPTIONS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a TypeScript file to completion and collects its output. */
export function runTsx(
  file: string,
  args: readonly string[] = [],
  env: Record<string, string | undefined> = {},
): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawnTsx(file, args, env);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
