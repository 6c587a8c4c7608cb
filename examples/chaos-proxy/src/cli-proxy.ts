import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

/**
 * The chaos proxy as its CLI, `axios-resilience-chaos-proxy`, in a child process: what you would run as a
 * sidecar in staging. Uses the built binary when the package is built, else its TypeScript source via tsx.
 */

export interface CliProxyOptions {
  target: string;
  rate: number;
  faults: string;
  seed?: number;
}

export interface CliProxy {
  url: string;
  /** The command that was run, for display. */
  command: string;
  /** The CLI's `fault ...` lines so far, e.g. `fault status 429: POST /charges`. */
  faultLines: string[];
  /** Sends SIGTERM and waits for the CLI's goodbye line and exit. */
  stop(): Promise<{ exitCode: number | null; lastLine: string }>;
}

function cliEntry(): { args: string[]; env: NodeJS.ProcessEnv } {
  const packageDir = path.dirname(require.resolve('@axios-resilience/chaos/package.json'));
  const built = path.join(packageDir, 'dist', 'proxy-cli.js');
  if (fs.existsSync(built)) return { args: [built], env: {} };
  // Unbuilt, inside this repository: run the source with the repository's path mapping.
  return {
    args: ['--import', 'tsx', path.join(packageDir, 'src', 'proxy-cli.ts')],
    env: { TSX_TSCONFIG_PATH: path.resolve(packageDir, '..', '..', 'tsconfig.json') },
  };
}

export async function startCliProxy(options: CliProxyOptions): Promise<CliProxy> {
  const flags = ['--target', options.target, '--rate', String(options.rate), '--faults', options.faults];
  if (options.seed !== undefined) flags.push('--seed', String(options.seed));
  const entry = cliEntry();
  const child: ChildProcess = spawn(process.execPath, [...entry.args, ...flags], {
    env: { ...process.env, ...entry.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const faultLines: string[] = [];
  let lastLine = '';
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));

  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lastLine = line;
      const listening = /^chaos proxy listening on (\S+)/.exec(line);
      if (listening) resolve(listening[1]);
      else if (line.startsWith('fault ')) faultLines.push(line);
    });
    void exited.then((code) => reject(new Error(`the chaos proxy CLI exited with code ${code}:\n${stderr}`)));
  });

  return {
    url,
    command: `axios-resilience-chaos-proxy ${flags.join(' ')}`,
    faultLines,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const exitCode = await exited;
      return { exitCode, lastLine };
    },
  };
}
