import fs from 'node:fs';
import path from 'node:path';
import { bundleForBrowser } from '@axios-resilience/testkit';
import type { Benchmark, BenchContext, BenchmarkResult } from '../benchmark';
import { REPO_ROOT } from '../child-process';
import { bytes, type Table } from '../format';

interface Entry {
  label: string;
  /** What a user imports. */
  imports: string;
  group: 'ours' | 'peer';
  /** A file to bundle, absolute; or source text for a generated entry. */
  file?: string;
  source?: string;
}

const PACKAGES: Array<{ folder: string; name: string; installer?: string }> = [
  { folder: 'core', name: '@axios-resilience/core' },
  { folder: 'retry', name: '@axios-resilience/retry', installer: 'attachRetry' },
  { folder: 'idempotency', name: '@axios-resilience/idempotency', installer: 'attachIdempotency' },
  { folder: 'ratelimit', name: '@axios-resilience/ratelimit', installer: 'attachRateLimit, memoryLimiter' },
  { folder: 'dlq', name: '@axios-resilience/dlq', installer: 'attachDeadLetter, memorySink' },
  { folder: 'chaos', name: '@axios-resilience/chaos', installer: 'attachChaos' },
  { folder: 'axios-resilience', name: 'axios-resilience', installer: 'attachResilience' },
];

/** A peer's browser-facing ES module (or CommonJS main when it has none), resolved from the bench package. */
function peerFile(name: string, relative: string): string {
  return path.join(fs.realpathSync(path.join(REPO_ROOT, 'bench', 'node_modules', name)), relative);
}

function entries(): Entry[] {
  const ours = PACKAGES.flatMap((pkg): Entry[] => [
    {
      label: pkg.name,
      imports: 'everything (`export *`)',
      group: 'ours',
      file: path.join(REPO_ROOT, 'packages', pkg.folder, 'src', 'index.ts'),
    },
    ...(pkg.installer
      ? [
          {
            label: pkg.name,
            imports: `\`{ ${pkg.installer} }\``,
            group: 'ours' as const,
            source: `export { ${pkg.installer} } from '${pkg.name}';\n`,
          },
        ]
      : []),
  ]);
  const peers: Entry[] = [
    { label: 'axios-retry 4.5', imports: 'default', group: 'peer', file: peerFile('axios-retry', 'dist/esm/index.js') },
    {
      label: 'retry-axios 4.0',
      imports: 'everything',
      group: 'peer',
      file: peerFile('retry-axios', 'build/src/index.js'),
    },
    {
      label: 'axios-rate-limit 1.9',
      imports: 'default',
      group: 'peer',
      file: peerFile('axios-rate-limit', 'src/index.js'),
    },
    { label: 'bottleneck 2.19', imports: 'default', group: 'peer', file: peerFile('bottleneck', 'lib/index.js') },
  ];
  return [...ours, ...peers];
}

/** Optional peers of our packages: a user who does not use them does not install them. */
const OPTIONAL_PEERS = ['pg', '@upstash/redis', '@upstash/ratelimit'];

interface BundleRow {
  label: string;
  imports: string;
  group: string;
  bytes?: number;
  gzipBytes?: number;
  /** Why the bundle with only axios external failed. */
  error?: string;
  /** Measured with the optional peers external, after the plain bundle failed. */
  peersExternal?: boolean;
}

function describe(entry: Entry): Pick<BundleRow, 'label' | 'imports' | 'group'> {
  return { label: entry.label, imports: entry.imports, group: entry.group };
}

export const bundleSizeBenchmark: Benchmark = {
  name: 'bundle-size',
  title: 'Bundle size: esbuild, minified, axios external',
  async run(context: BenchContext): Promise<BenchmarkResult> {
    const rows: BundleRow[] = [];
    for (const [index, entry] of entries().entries()) {
      context.progress(`${entry.label}: ${entry.imports}`);
      let file = entry.file;
      if (entry.source !== undefined) {
        file = path.join(context.tempDir, `bundle-entry-${index}.ts`);
        fs.writeFileSync(file, entry.source);
      }
      try {
        const bundle = await bundleForBrowser({ entry: file!, format: 'esm', minify: true, external: ['axios'] });
        rows.push({ ...describe(entry), bytes: bundle.bytes, gzipBytes: bundle.gzipBytes });
      } catch (error) {
        const message = error instanceof Error ? error.message.split('\n').slice(0, 2).join(' ') : String(error);
        // An optional peer pulled in by mistake: measure with the optional peers left out, and say so.
        try {
          const bundle = await bundleForBrowser({
            entry: file!,
            format: 'esm',
            minify: true,
            external: ['axios', ...OPTIONAL_PEERS],
          });
          rows.push({
            ...describe(entry),
            bytes: bundle.bytes,
            gzipBytes: bundle.gzipBytes,
            error: message,
            peersExternal: true,
          });
        } catch {
          rows.push({ ...describe(entry), error: message });
        }
      }
    }
    const table: Table = {
      columns: ['package', 'imports', 'minified', 'minified + gzip'],
      rows: rows.map((row) => [
        row.label,
        row.imports,
        row.bytes === undefined ? 'does not bundle' : `${bytes(row.bytes)}${row.peersExternal ? ' *' : ''}`,
        row.gzipBytes === undefined ? '' : bytes(row.gzipBytes),
      ]),
    };
    const failed = rows.filter((row) => row.error && !row.peersExternal);
    const needPeers = rows.filter((row) => row.peersExternal);
    const umbrella = rows.find((row) => row.label === 'axios-resilience' && row.imports.startsWith('everything'));
    const notes = [
      'Each of our packages is bundled from source with its workspace dependencies (core, and uuid where used) included ' +
        'and axios left out, as a browser app would ship it; the layers share core, so the umbrella is less than the sum.',
      ...(umbrella?.gzipBytes
        ? [`The whole suite (\`axios-resilience\`, every layer) costs ${bytes(umbrella.gzipBytes)} gzipped.`]
        : []),
      ...(needPeers.length > 0
        ? [
            `* Measured with the optional peers (${OPTIONAL_PEERS.join(', ')}) external as well: with only axios external, ` +
              `${needPeers.map((row) => `${row.label} (${row.imports})`).join(', ')} did not bundle for the browser ` +
              `(${needPeers[0].error}). esbuild follows \`import(specifier)\` when \`specifier\` is a constant string, so ` +
              "the Postgres sink's lazy `import('pg')` pulls pg and its Node modules into every bundle of the dead-letter " +
              'package; the lazy loader for Node modules, which takes the name as a parameter, does not have the problem.',
          ]
        : []),
      ...failed.map((row) => `${row.label} (${row.imports}) did not bundle for the browser: ${row.error}`),
    ];
    return {
      name: this.name,
      title: this.title,
      method:
        "Each entry is bundled with the testkit's `bundleForBrowser` (esbuild, platform browser, ES module, minified, " +
        '`axios` external), from source for our packages and from the installed files for the peers; gzip at the default ' +
        'level. One run: the figures are deterministic.',
      tables: [table],
      verdicts: [],
      notes,
      data: { rows },
    };
  },
};
