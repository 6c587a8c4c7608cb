import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './free-port';

/** A redis-server this process started, on a loopback port in a temporary directory. */
export interface RedisServer {
  /** `redis://127.0.0.1:PORT` */
  url: string;
  host: string;
  port: number;
  /** The temporary working directory (removed by `stop()`). */
  dir: string;
  /** Stops the server (SIGTERM, then SIGKILL) and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartRedisServerOptions {
  /** The binary to run. @default process.env.REDIS_SERVER_BIN, else `redis-server` on the PATH */
  bin?: string;
  /** How long to wait for the first PONG. @default 10_000 */
  startTimeoutMs?: number;
}

const INSTALL_HINT =
  "install Debian's redis-server package (apt-get install -y redis-server), or point REDIS_SERVER_BIN at a redis-server binary";

/** One PING over a raw socket: true when the server answered `+PONG`. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let answer = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
    });
    socket.once('connect', () => socket.write('PING\r\n'));
  });
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Spawns `redis-server` on a free loopback port with persistence off and its working directory in a
 * fresh temporary folder, and resolves once it answers PING. Throws a clear error naming the package to
 * install when no binary is found.
 */
export async function startRedisServer(options: StartRedisServerOptions = {}): Promise<RedisServer> {
  const bin = options.bin ?? process.env.REDIS_SERVER_BIN ?? 'redis-server';
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;
  // The free port is only free when asked; another process may take it before redis-server binds it.
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startOnce(bin, startTimeoutMs);
    } catch (error) {
      if (!(error instanceof PortTakenError) || attempt >= 3) throw error;
    }
  }
}

class PortTakenError extends Error {}

async function startOnce(bin: string, startTimeoutMs: number): Promise<RedisServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'axios-resilience-redis-'));
  const port = await freePort();
  const child = spawn(
    bin,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let spawnError: NodeJS.ErrnoException | undefined;
  child.once('error', (error: NodeJS.ErrnoException) => {
    spawnError = error;
  });

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null && !spawnError) {
      child.kill('SIGTERM');
      if (!(await waitForExit(child, 3_000))) {
        child.kill('SIGKILL');
        await waitForExit(child, 3_000);
      }
    }
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (spawnError) {
      await stop();
      if (spawnError.code === 'ENOENT') {
        throw new Error(`redis-server not found (tried "${bin}"): ${INSTALL_HINT}.`);
      }
      throw new Error(`Could not start redis-server ("${bin}"): ${spawnError.message}`);
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      const message = `redis-server exited before answering (code ${child.exitCode}). Its output:\n${output}`;
      throw /address already in use/i.test(output) ? new PortTakenError(message) : new Error(message);
    }
    // A PING alone could be answered by another test's server that took the port first (ours then fails to
    // bind); only our own log line proves the answer came from our process.
    if (/Ready to accept connections/i.test(output) && (await ping(port))) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server did not answer PING within ${startTimeoutMs} ms. Its output:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { url: `redis://127.0.0.1:${port}`, host: '127.0.0.1', port, dir, stop };
}
