import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import {
  bundleForBrowser,
  chromiumExecutable,
  CHROMIUM_ARGS,
  startFlakyApi,
  startTestServer,
  type FlakyApi,
  type TestServer,
} from '@axios-resilience/testkit';
import type { BrowserScenarioResult } from './browser/page';

const screenshotPath = path.resolve(__dirname, '..', '..', '..', '.tmp', 'browser-result.png');

describe('the isomorphic layers in a real browser (Debian Chromium, headless)', () => {
  let browser: Browser;
  let api: FlakyApi;
  let site: TestServer;

  beforeAll(async () => {
    const bundle = await bundleForBrowser({ entry: 'packages/axios-resilience/test/browser/page.ts' });
    site = await startTestServer((request, response) => {
      if (request.url === '/bundle.js') {
        response.writeHead(200, { 'content-type': 'text/javascript' });
        response.end(bundle.code);
      } else {
        response.writeHead(200, { 'content-type': 'text/html' });
        response.end(
          '<!doctype html><html><head><title>axios-resilience</title></head><body>loading</body><script src="/bundle.js"></script></html>',
        );
      }
    });
    browser = await chromium.launch({ executablePath: chromiumExecutable(), args: CHROMIUM_ARGS, headless: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await site?.close();
  });

  beforeEach(async () => {
    api = await startFlakyApi({
      cors: true,
      script: [503, null, { kind: 'status', status: 429, retryAfterMs: 1000 }, null, 503, null, null],
    });
  });
  // After a failed set-up (no Chromium) there is no API to close: the set-up's own error is the one to read.
  afterEach(async () => {
    await (api as FlakyApi | undefined)?.close();
  });

  it('sends writes through retry, idempotency and the rate limiter: one charge each, keys kept, hints obeyed', async () => {
    const page = await browser.newPage();
    await page.goto(site.url);
    const result = (await page.evaluate(([apiUrl, count]) => window.runScenario(apiUrl as string, count as number), [
      api.url,
      4,
    ] as const)) as BrowserScenarioResult;
    await page.waitForSelector('#status');
    fs.mkdirSync(path.dirname(screenshotPath), { recursive: true });
    await page.screenshot({ path: screenshotPath, fullPage: true });
    await page.close();

    expect(result.userAgent).toMatch(/Chrome/);
    // The ledger: exactly one charge per operation.
    expect(api.ledger).toHaveLength(4);
    expect(new Set(api.ledger.map((charge) => charge.idempotencyKey)).size).toBe(4);
    expect(result.operations.map((operation) => operation.attempts)).toEqual([2, 2, 2, 1]);
    // Every attempt of one operation carried its key; operations never shared one.
    const charges = api.requests.filter((request) => request.method === 'POST');
    const keysInOrder = charges.map((request) => request.idempotencyKey);
    expect(keysInOrder).toEqual([
      result.operations[0].key,
      result.operations[0].key,
      result.operations[1].key,
      result.operations[1].key,
      result.operations[2].key,
      result.operations[2].key,
      result.operations[3].key,
    ]);
    expect(keysInOrder.every((key) => typeof key === 'string' && /^[0-9a-f-]{36}$/.test(key))).toBe(true);
    // The waits: backoff for the 503s, the server's hint (no jitter) for the 429.
    expect(result.waits).toEqual([
      { delayMs: 100, source: 'backoff', status: 503 },
      { delayMs: 1000, source: 'retry-after-ms', status: 429 },
      { delayMs: 100, source: 'backoff', status: 503 },
    ]);
    expect(result.operations[1].elapsedMs).toBeGreaterThanOrEqual(1000);
    expect(fs.statSync(screenshotPath).size).toBeGreaterThan(1000);
  }, 60_000);

  it.each([
    ['@axios-resilience/retry', 'packages/retry/src/index.ts'],
    ['@axios-resilience/idempotency', 'packages/idempotency/src/index.ts'],
    ['@axios-resilience/ratelimit', 'packages/ratelimit/src/index.ts'],
    ['@axios-resilience/dlq (memory sink)', 'packages/dlq/src/index.ts'],
    ['@axios-resilience/chaos', 'packages/chaos/src/index.ts'],
    ['axios-resilience', 'packages/axios-resilience/src/index.ts'],
  ])('%s bundles for the browser with no Node-only module', async (_name, entry) => {
    // Minified, as an application ships it: the minifier folds constants, which once pulled `pg` in.
    const bundle = await bundleForBrowser({ entry, format: 'esm', external: ['axios'], minify: true });
    expect(bundle.bytes).toBeGreaterThan(0);
    expect(bundle.code).not.toMatch(/require\(["']node:/);
    // Optional Node-only peers stay out too: esbuild marks every bundled module with its path.
    expect(bundle.code).not.toMatch(/\/\/ node_modules\/\S*(?:\/pg\/|pg-protocol|pg-pool|@upstash)/);
  });
});
