import path from 'node:path';
import { build } from 'esbuild';

const repositoryRoot = path.resolve(__dirname, '../../..');

async function bundleForBrowser(entry: string) {
  return build({
    entryPoints: [path.join(repositoryRoot, entry)],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    external: ['axios'],
    tsconfig: path.join(repositoryRoot, 'tsconfig.json'),
    metafile: true,
    logLevel: 'silent',
  });
}

describe('entry points', () => {
  it('the main entry bundles for a browser: no Node module is reachable from it', async () => {
    const result = await bundleForBrowser('packages/chaos/src/index.ts');
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((input) => input.endsWith('packages/chaos/src/attach-chaos.ts'))).toBe(true);
    expect(inputs.some((input) => input.includes('proxy'))).toBe(false);
    const imports = Object.values(result.metafile.inputs).flatMap((input) => input.imports.map((entry) => entry.path));
    expect(imports.filter((specifier) => specifier.startsWith('node:'))).toEqual([]);
  });

  it('the proxy entry is the Node-only one (the same check fails there)', async () => {
    await expect(bundleForBrowser('packages/chaos/src/proxy.ts')).rejects.toThrow(/node:http/);
  });
});
