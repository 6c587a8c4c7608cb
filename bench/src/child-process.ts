import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

/** The repository root: children run from it so `--import tsx` resolves. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** A message from parent to child: run `command` with `payload`, answer under `id`. */
export interface CommandMessage {
  id: number;
  command: string;
  payload?: unknown;
}

/** A child's answer to one command, or an event it sends on its own (`ready`). */
export type ChildMessage =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: string }
  | { event: 'ready'; pid: number };

export interface ChildHandle {
  readonly name: string;
  readonly pid: number | undefined;
  /** Resolves once the child said it is ready to take commands. */
  readonly ready: Promise<void>;
  /** Runs a command in the child and resolves with its result (rejects with its error, or if it dies). */
  call<T>(command: string, payload?: unknown, timeoutMs?: number): Promise<T>;
  /** Asks the child to clean up and exit; kills it if it does not within a second. Safe to call twice. */
  stop(): Promise<void>;
}

const liveChildren = new Set<ChildProcess>();

/** Kills every child still running: on the way out, after an error or Ctrl-C. */
export function killAllChildren(): void {
  for (const child of liveChildren) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  liveChildren.clear();
}

process.once('exit', killAllChildren);

export interface StartChildOptions {
  /** A label for error messages. */
  name: string;
  /** Extra Node flags (`--expose-gc`). */
  nodeFlags?: string[];
  env?: Record<string, string>;
}

/**
 * The tsconfig children load with: the bench's (no path mapping: the packages' builds, as in the parent), or,
 * under the test suite, the root one, whose path mapping runs the packages from source so the tests never
 * depend on a build being present or fresh.
 */
function childTsconfig(): string {
  return process.env.JEST_WORKER_ID !== undefined
    ? path.join(REPO_ROOT, 'tsconfig.json')
    : path.join(REPO_ROOT, 'bench', 'tsconfig.json');
}

/**
 * Starts a TypeScript script in its own Node process (tsx, with the bench's tsconfig, so the packages load
 * from their build as in the parent) and talks to it over the IPC channel. The script uses `serveCommands`.
 */
export function startChild(script: string, options: StartChildOptions): ChildHandle {
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), '--import', 'tsx', script], {
    cwd: REPO_ROOT,
    env: { ...process.env, TSX_TSCONFIG_PATH: childTsconfig(), ...options.env },
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  liveChildren.add(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });

  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextId = 1;
  let exited = false;
  let markReady: () => void = () => undefined;
  let failReady: (error: Error) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  ready.catch(() => undefined);

  child.on('message', (message: ChildMessage) => {
    if ('event' in message) {
      if (message.event === 'ready') markReady();
      return;
    }
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.ok) waiter.resolve(message.result);
    else waiter.reject(new Error(`${options.name}: ${message.error}`));
  });
  child.once('exit', (code, signal) => {
    exited = true;
    liveChildren.delete(child);
    const error = new Error(`${options.name} exited (${signal ?? code}) ${stderr ? `:\n${stderr}` : ''}`);
    failReady(error);
    for (const waiter of pending.values()) waiter.reject(error);
    pending.clear();
  });

  return {
    name: options.name,
    pid: child.pid,
    ready,
    call<T>(command: string, payload?: unknown, timeoutMs = 300_000): Promise<T> {
      if (exited) return Promise.reject(new Error(`${options.name} is not running`));
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${options.name}: ${command} did not answer within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (value) => {
            clearTimeout(timer);
            resolve(value as T);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        child.send({ id, command, payload } satisfies CommandMessage);
      });
    },
    async stop() {
      if (exited) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      if (child.connected) child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 1_000);
      await gone;
      clearTimeout(timer);
    },
  };
}

export type CommandHandlers = Record<string, (payload: any) => unknown>;

/**
 * The child's side: answers commands from the parent with `handlers`, says `ready`, and runs `cleanup`
 * and exits when the parent disconnects (or dies).
 */
export function serveCommands(handlers: CommandHandlers, cleanup: () => Promise<void> | void = () => undefined): void {
  if (!process.send) throw new Error('serveCommands: this script must be started with an IPC channel');
  const send = (message: ChildMessage) => {
    if (process.connected) process.send!(message);
  };
  process.on('message', (message: CommandMessage) => {
    const handler = handlers[message.command];
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown command ${message.command}`);
        return handler(message.payload);
      })
      .then(
        (result) => send({ id: message.id, ok: true, result }),
        (error: unknown) =>
          send({
            id: message.id,
            ok: false,
            error: error instanceof Error ? (error.stack ?? error.message) : String(error),
          }),
      );
  });
  let leaving = false;
  const leave = () => {
    if (leaving) return;
    leaving = true;
    const fallback = setTimeout(() => process.exit(0), 3_000);
    fallback.unref();
    Promise.resolve()
      .then(cleanup)
      .catch(() => undefined)
      .finally(() => process.exit(0));
  };
  process.on('disconnect', leave);
  process.on('SIGTERM', leave);
  send({ event: 'ready', pid: process.pid });
}
