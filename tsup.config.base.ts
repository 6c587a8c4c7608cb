import type { Options } from 'tsup';

/** Every publishable package builds the same way: ESM + CJS + declarations, axios left to the user. */
export function packageBuild(entry: Record<string, string> = { index: 'src/index.ts' }): Options {
  return {
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'node20',
    splitting: false,
    treeshake: true,
  };
}
