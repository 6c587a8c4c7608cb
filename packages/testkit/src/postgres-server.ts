import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './free-port';

export interface PostgresServer {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` */
  url: string;
  host: string;
  port: number;
  /** Stops the server (fast shutdown) and removes its cluster. */
  stop(): Promise<void>;
}

const INSTALL_HINT =
  "PostgreSQL's server binaries (initdb, postgres) were not found. Install Debian's 'postgresql' package " +
  '(apt-get install -y postgresql) or set PG_BIN to the folder that holds them.';

/** PG_BIN, then PATH, then Debian's versioned folders (newest first), where apt puts them off PATH. */
function findPostgresBin(): string {
  const candidates: string[] = [];
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
  candidates.push(...(process.env.PATH ?? '').split(path.delimiter));
  const debian = '/usr/lib/postgresql';
  if (fs.existsSync(debian)) {
    const versions = fs
      .readdirSync(debian)
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((version) => path.join(debian, version, 'bin')));
  }
  const found = candidates.find(
    (dir) => dir && fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'postgres')),
  );
  if (!found) throw new Error(INSTALL_HINT);
  return fs.realpathSync(path.join(found, 'initdb')).replace(/\/initdb$/, '');
}

/** PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user (or `nobody`). */
function unprivilegedUser(): { uid: number; gid: number } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
    if (uid.status === 0 && gid.status === 0) return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  }
  throw new Error('Running as root and found neither a postgres nor a nobody user to run PostgreSQL as.');
}

function waitForExit(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

/**
 * Creates a throwaway PostgreSQL cluster in a temporary directory, starts it on a free loopback port with
 * durability off (tests want speed, not crash safety of the test database), and removes it on `stop()`.
 */
export async function startPostgres(): Promise<PostgresServer> {
  const bin = findPostgresBin();
  const user = unprivilegedUser();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'axios-resilience-pg-'));
  fs.chmodSync(root, 0o700);
  if (user) fs.chownSync(root, user.uid, user.gid);
  const dataDir = path.join(root, 'data');
  const asUser = user ? { uid: user.uid, gid: user.gid } : {};

  const init = spawnSync(
    path.join(bin, 'initdb'),
    ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'],
    { ...asUser, encoding: 'utf8', cwd: root },
  );
  if (init.status !== 0) {
    fs.rmSync(root, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status}): ${init.stderr.trim().split('\n').slice(-3).join(' ')}`);
  }

  // Two test files may draw the same free port; the loser fails to bind and tries another.
  for (let attempt = 1; ; attempt++) {
    try {
      const started = await startCluster(bin, root, dataDir, asUser);
      return {
        url: `postgres://postgres@127.0.0.1:${started.port}/postgres`,
        host: '127.0.0.1',
        port: started.port,
        stop: async () => {
          await started.stop();
          fs.rmSync(root, { recursive: true, force: true });
        },
      };
    } catch (error) {
      if (!(error instanceof PortTakenError) || attempt >= 3) {
        fs.rmSync(root, { recursive: true, force: true });
        throw error;
      }
    }
  }
}

class PortTakenError extends Error {}

async function startCluster(
  bin: string,
  root: string,
  dataDir: string,
  asUser: { uid?: number; gid?: number },
): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const server = spawn(
    path.join(bin, 'postgres'),
    [
      '-D',
      dataDir,
      '-p',
      String(port),
      '-k',
      root,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=50',
    ],
    { ...asUser, cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  server.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString('utf8')).slice(-4000);
  });
  const stop = async () => {
    if (server.exitCode === null && server.signalCode === null) {
      server.kill('SIGINT');
      const exited = waitForExit(server);
      const forced = setTimeout(() => server.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(forced);
    }
  };
  const lastLines = () => log.trim().split('\n').slice(-3).join(' ');

  const deadline = Date.now() + 20_000;
  for (;;) {
    if (server.exitCode !== null || server.signalCode !== null) {
      await stop();
      const message = `postgres exited during start-up: ${lastLines()}`;
      throw /could not bind|address already in use/i.test(log) ? new PortTakenError(message) : new Error(message);
    }
    // Asked through our own socket directory, so a server of another test on the same port cannot answer.
    const ready = spawnSync(path.join(bin, 'pg_isready'), ['-h', root, '-p', String(port), '-U', 'postgres'], {
      encoding: 'utf8',
    });
    if (ready.status === 0) return { port, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`postgres did not accept connections within 20 s: ${lastLines()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
