import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import {
  sendJson,
  startTestServer,
  type RecordedRequest,
  type TestServer,
  type UpstashBridge,
} from '@axios-resilience/testkit';
import type { WorkerConfig, WorkerResult } from './fixtures/rate-limit-worker';
import { countPerWindow, startUpstashStore, type UpstashStore } from './upstash-store';

const REPO_ROOT = path.resolve(__dirname, '../../..');
const WORKER_SCRIPT = path.join(__dirname, 'fixtures', 'rate-limit-worker.ts');

interface Worker {
  ready: Promise<void>;
  result: Promise<WorkerResult>;
  go(startAt: number): void;
  kill(): void;
}

/** Starts a worker in its own Node process, TypeScript run by tsx with the repository's path mapping. */
function startWorker(config: WorkerConfig): Worker {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', WORKER_SCRIPT], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      TSX_TSCONFIG_PATH: path.join(REPO_ROOT, 'tsconfig.json'),
      WORKER_CONFIG: JSON.stringify(config),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  let markReady: () => void;
  let fail: (error: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    fail = reject;
  });
  const result = new Promise<WorkerResult>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (line === 'ready') markReady();
      else if (line.startsWith('result ')) resolve(JSON.parse(line.slice('result '.length)) as WorkerResult);
    });
    // 'close', not 'exit': 'exit' can fire before the last line on stdout (the result) has been read.
    child.once('close', (code) => {
      const error = new Error(`worker ${config.name} exited with ${code} before reporting:\n${stderr}`);
      fail(error);
      reject(error);
    });
  });
  result.catch(() => {});
  ready.catch(() => {});
  return {
    ready,
    result,
    go: (startAt) => child.stdin!.write(`go ${startAt}\n`),
    kill: () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** Runs workers together: waits until all are warm, starts them just after a second boundary. */
async function runTogether(configs: WorkerConfig[], onStart?: (startAt: number) => void) {
  const workers = configs.map(startWorker);
  try {
    await Promise.all(workers.map((worker) => worker.ready));
    const startAt = Math.ceil(Date.now() / 1000) * 1000 + 5;
    onStart?.(startAt);
    for (const worker of workers) worker.go(startAt);
    return { startAt, results: await Promise.all(workers.map((worker) => worker.result)) };
  } finally {
    for (const worker of workers) worker.kill();
  }
}

function workRequests(server: TestServer): RecordedRequest[] {
  return server.requests.filter((request) => request.url.startsWith('/work/'));
}

/** When a worker sent the request, from the stamp it put on right after the token came. */
function sentAt(request: RecordedRequest): number {
  return Number(request.headers['x-granted-at']);
}

/** Requests per epoch-aligned second, by the given time of each. */
function perSecond(requests: RecordedRequest[], timeOf: (request: RecordedRequest) => number): number[] {
  return countPerWindow(requests.map(timeOf), 1000);
}

const arrival = (request: RecordedRequest) => request.receivedAt;

/** Requests that left in one second and reached the server in a later one. */
function crossedInFlight(requests: RecordedRequest[]): number {
  return requests.filter((request) => Math.floor(request.receivedAt / 1000) > Math.floor(sentAt(request) / 1000))
    .length;
}

describe('several processes share one budget through Redis', () => {
  let store: UpstashStore;
  let bridge: UpstashBridge;
  let target: TestServer;

  beforeAll(async () => {
    store = await startUpstashStore();
    bridge = store.bridge;
  });
  afterAll(async () => {
    await store.stop();
  });
  beforeEach(async () => {
    target = await startTestServer();
  });
  afterEach(async () => {
    await target.close();
  });

  const names = ['worker-a', 'worker-b', 'worker-c'];

  it('three workers on Ratelimit.fixedWindow(30, "1 s"): at most 30 per second (+1 per worker crossing a boundary); three memory limiters send about three times that', async () => {
    const shared = await runTogether(
      names.map((name) => ({
        name,
        target: target.url,
        limiter: {
          kind: 'upstash',
          url: bridge.url,
          token: bridge.token,
          limit: 30,
          window: '1 s',
          prefix: 'shared-budget',
        },
        scenario: { kind: 'burst', requests: 100 },
      })),
    );
    for (const result of shared.results) {
      expect(result.errors).toEqual([]);
      expect(result.statuses).toHaveLength(100);
    }
    const sharedRequests = workRequests(target);
    expect(sharedRequests).toHaveLength(300);
    // Redis grants at most 30 per window. A token reaches a worker a round trip after its window was chosen,
    // so a limit call that straddles a boundary sends one old-window token in the new second: at most one
    // per worker, since each worker asks for one token at a time.
    expect(Math.max(...perSecond(sharedRequests, sentAt))).toBeLessThanOrEqual(30 + names.length);
    // The server sees the same, except requests that crossed the boundary in flight (none on an idle
    // machine; a starved one delays a few by up to a few hundred milliseconds).
    expect(Math.max(...perSecond(sharedRequests, arrival))).toBeLessThanOrEqual(
      30 + names.length + crossedInFlight(sharedRequests),
    );
    // Every worker got its turn in the shared budget, not one worker starving the others.
    for (const name of names) {
      expect(sharedRequests.filter((request) => request.headers['x-worker'] === name)).toHaveLength(100);
    }

    target.requests.length = 0;
    const separate = await runTogether(
      names.map((name) => ({
        name,
        target: target.url,
        limiter: { kind: 'memory', limit: 30, intervalMs: 1000, algorithm: 'fixed-window' },
        scenario: { kind: 'burst', requests: 100 },
      })),
    );
    for (const result of separate.results) expect(result.errors).toEqual([]);
    const separateRequests = workRequests(target);
    expect(separateRequests).toHaveLength(300);
    // Each process keeps its own 30: close to 90 in a second, which the shared budget never allows.
    expect(Math.max(...perSecond(separateRequests, sentAt))).toBeGreaterThanOrEqual(75);
    expect(Math.max(...perSecond(separateRequests, arrival))).toBeGreaterThan(30 + names.length);
  }, 90_000);

  it('one worker receives 429 with Retry-After: 2, and for the next two seconds no worker sends to that key', async () => {
    let limitedAt: number | undefined;
    let limitedWorker: string | undefined;
    let armedAt = Infinity;
    target.setHandler((request, response) => {
      if (request.url.startsWith('/work/') && limitedAt === undefined && request.receivedAt >= armedAt) {
        limitedAt = request.receivedAt;
        limitedWorker = String(request.headers['x-worker']);
        return sendJson(response, 429, { error: 'slow down' }, { 'retry-after': '2' });
      }
      return sendJson(response, 200, { ok: true });
    });
    const { results } = await runTogether(
      names.map((name) => ({
        name,
        target: target.url,
        limiter: {
          kind: 'upstash',
          url: bridge.url,
          token: bridge.token,
          limit: 1000,
          window: '1 s',
          prefix: 'shared-pause',
        },
        scenario: { kind: 'steady', durationMs: 5_000 },
      })),
      (startAt) => (armedAt = startAt + 1_000),
    );
    for (const result of results) expect(result.errors).toEqual([]);
    expect(limitedAt).toBeDefined();
    const at = limitedAt!;
    const limitedResult = results.find((result) => result.name === limitedWorker)!;
    expect(limitedResult.pauses).toHaveLength(1);
    const { untilMs, writtenAt } = limitedResult.pauses[0];
    // The worker paused for the two seconds the server asked, counted from when it received the answer.
    expect(untilMs - at).toBeGreaterThanOrEqual(2_000);
    const requests = workRequests(target);
    for (const name of names) {
      const sends = requests.filter((request) => request.headers['x-worker'] === name);
      // Every worker was sending before the 429 and sends again once the pause is over.
      expect(sends.some((request) => sentAt(request) < at)).toBe(true);
      expect(sends.some((request) => sentAt(request) >= untilMs)).toBe(true);
      const duringPause = sends.filter((request) => sentAt(request) > at && sentAt(request) < untilMs);
      if (name === limitedWorker) {
        // The worker that got the 429 paused at once.
        expect(duringPause).toEqual([]);
      } else {
        // Once the pause is in Redis, the others send nothing more until it ends, except the token of a
        // limit call already on its way (read before the pause landed): at most one each.
        expect(duringPause.filter((request) => sentAt(request) >= writtenAt).length).toBeLessThanOrEqual(1);
      }
    }
  }, 60_000);
});
