import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import axios from 'axios';
import { DEFAULT_FAULTS } from '@axios-resilience/chaos';
import { REPO_ROOT, spawnTsx, startTestServer, type TestServer } from '@axios-resilience/testkit';
import { parseProxyCliArguments } from '../src/proxy-cli-args';

const cliPath = path.join(REPO_ROOT, 'packages/chaos/src/proxy-cli.ts');

interface RunningCli {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function runCli(args: string[]): RunningCli {
  const child = spawnTsx(cliPath, args, { env: { NODE_ENV: 'test' }, stdio: 'pipe' }) as ChildProcessWithoutNullStreams;
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

async function listeningUrl(cli: RunningCli): Promise<string> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const found = /listening on (http:\/\/\S+)/.exec(cli.stdout());
    if (found) return found[1];
    if (cli.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  cli.child.kill('SIGKILL');
  throw new Error(`the CLI printed no URL; stdout: ${cli.stdout()} stderr: ${cli.stderr()}`);
}

describe('axios-resilience-chaos-proxy (child process)', () => {
  let upstream: TestServer;
  const running: RunningCli[] = [];

  beforeEach(async () => {
    upstream = await startTestServer();
  });

  afterEach(async () => {
    for (const cli of running.splice(0)) {
      if (cli.child.exitCode === null && cli.child.signalCode === null) {
        cli.child.kill('SIGKILL');
        await cli.exited;
      }
    }
    await upstream.close();
  });

  it('prints its URL, proxies a request, and exits cleanly on SIGTERM', async () => {
    const cli = runCli(['--target', upstream.url, '--rate', '0']);
    running.push(cli);
    const url = await listeningUrl(cli);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const response = await axios.post(`${url}/charges?x=1`, { amount: 7 });
    expect(response.status).toBe(200);
    expect(response.data).toEqual({ ok: true });
    expect(upstream.requests).toHaveLength(1);
    expect(upstream.requests[0].url).toBe('/charges?x=1');
    expect(JSON.parse(upstream.requests[0].body.toString())).toEqual({ amount: 7 });

    cli.child.kill('SIGTERM');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(cli.stdout()).toMatch(/SIGTERM: closing after 1 requests, 0 faults/);
  });

  it('injects the faults given on the command line and logs each one; exits on SIGINT', async () => {
    const cli = runCli(['--target', upstream.url, '--rate', '1', '--faults', '503=2', '--seed', '42']);
    running.push(cli);
    const url = await listeningUrl(cli);
    const response = await axios.get(`${url}/orders`, { validateStatus: () => true });
    expect(response.status).toBe(503);
    expect(response.headers['retry-after']).toBe('2');
    expect(upstream.requests).toHaveLength(0);
    cli.child.kill('SIGINT');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(cli.stdout()).toContain('fault status 503: GET /orders');
  });

  it('prints usage on --help, and refuses bad arguments with exit code 2', async () => {
    const help = runCli(['--help']);
    running.push(help);
    expect(await help.exited).toEqual({ code: 0, signal: null });
    expect(help.stdout()).toContain('Usage: axios-resilience-chaos-proxy --target <url>');

    const bad = runCli(['--target', upstream.url, '--rate', 'lots']);
    running.push(bad);
    expect((await bad.exited).code).toBe(2);
    expect(bad.stderr()).toContain('--rate: expected a number, got "lots"');
  });
});

describe('parseProxyCliArguments', () => {
  it('reads every flag', () => {
    expect(
      parseProxyCliArguments([
        '--target',
        'http://127.0.0.1:3000',
        '--port',
        '8474',
        '--host',
        '0.0.0.0',
        '--rate',
        '0.25',
        '--seed',
        '7',
        '--faults',
        '429:1,503:1,reset:1,latency=200:1',
        '--quiet',
        '--allow-in-production',
      ]),
    ).toEqual({
      help: false,
      target: 'http://127.0.0.1:3000',
      port: 8474,
      host: '0.0.0.0',
      rate: 0.25,
      seed: 7,
      faults: [
        { kind: 'status', status: 429, weight: 1 },
        { kind: 'status', status: 503, weight: 1 },
        { kind: 'network', code: 'ECONNRESET', weight: 1 },
        { kind: 'latency', ms: 200, weight: 1 },
      ],
      quiet: true,
      allowInProduction: true,
    });
  });

  it('fills in the defaults', () => {
    expect(parseProxyCliArguments(['--target', 'http://x.test'])).toMatchObject({
      port: 0,
      host: '127.0.0.1',
      rate: 0.01,
      seed: undefined,
      faults: DEFAULT_FAULTS,
      quiet: false,
    });
  });

  it.each([
    [[], /--target: required/],
    [['--target', 'http://x.test', '--port', '80.5'], /--port: expected an integer, got "80\.5"/],
    [['--target', 'http://x.test', '--seed', ''], /--seed: expected an integer/],
    [['--target', 'http://x.test', '--faults', 'explode'], /faults: cannot read "explode"/],
    [['--target', 'http://x.test', '--colour'], /Unknown option '--colour'/],
  ])('refuses %p', (argv, message) => {
    expect(() => parseProxyCliArguments(argv)).toThrow(message);
  });
});
