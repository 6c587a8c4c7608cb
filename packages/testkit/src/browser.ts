import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

const repoRoot = path.resolve(__dirname, '..', '..', '..');

export interface BrowserBundle {
  code: string;
  bytes: number;
  gzipBytes: number;
}

export interface BundleOptions {
  /** The entry file, absolute or relative to the repository root. */
  entry: string;
  minify?: boolean;
  /** Modules left out of the bundle (their size is not counted). */
  external?: string[];
  /** `iife` for a page script, `esm` for size figures. */
  format?: 'iife' | 'esm';
}

/**
 * Bundles an entry for the browser with esbuild, resolving `@axios-resilience/*` to sources through the root
 * tsconfig. esbuild fails on any `node:` import on the browser platform, so a clean bundle is the proof that
 * an entry point is browser-safe.
 */
export async function bundleForBrowser(options: BundleOptions): Promise<BrowserBundle> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [path.resolve(repoRoot, options.entry)],
    bundle: true,
    write: false,
    platform: 'browser',
    format: options.format ?? 'iife',
    target: 'es2020',
    minify: options.minify ?? false,
    external: options.external ?? [],
    tsconfig: path.join(repoRoot, 'tsconfig.json'),
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"test"' },
  });
  const code = result.outputFiles[0].text;
  return { code, bytes: Buffer.byteLength(code), gzipBytes: gzipSync(code).length };
}

/** Flags for Debian's Chromium on a closed network, as root, headless. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** The Chromium binary: `CHROMIUM_BIN`, else Debian's. Fails with the package to install when missing. */
export function chromiumExecutable(): string {
  const candidates = [process.env.CHROMIUM_BIN, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(
    (candidate): candidate is string => Boolean(candidate),
  );
  const found = candidates.find((candidate) => fs.existsSync(candidate));
  if (!found) {
    throw new Error(
      "Chromium was not found. Install Debian's 'chromium' package (apt-get install -y chromium) or set CHROMIUM_BIN.",
    );
  }
  return found;
}
