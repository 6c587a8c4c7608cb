import { bundleForBrowser } from '@axios-resilience/testkit';

// esbuild refuses any `node:` import on the browser platform, so a bundle that builds is browser-safe.
describe('browser bundles', () => {
  it('of an app using memorySink only contain nothing of Node', async () => {
    const bundle = await bundleForBrowser({
      entry: 'packages/dlq/test/fixtures/browser-memory-only.ts',
      format: 'esm',
    });
    expect(bundle.code).not.toContain('node:');
    expect(bundle.code).not.toContain('fileSink');
  }, 30_000);

  it('of an app with the layer and replay build, with Node modules only behind lazy loaders', async () => {
    const bundle = await bundleForBrowser({ entry: 'packages/dlq/test/fixtures/browser-app.ts', format: 'esm' });
    expect(bundle.code).not.toMatch(/from\s*["']node:/);
    expect(bundle.code).not.toMatch(/require\(["']node:/);
    expect(bundle.code).toContain('webpackIgnore: true');
    // pg (an optional peer, for pgSink) is loaded on first use only, never bundled.
    expect(bundle.code).not.toMatch(/from\s*["']pg["']|require\(["']pg["']\)|import\(["']pg["']\)/);
    expect(bundle.code).not.toContain('pg-pool');
  }, 30_000);
});
