/**
 * Node built-ins, loaded on first use. The specifiers are kept out of static `import`s (and marked ignored
 * for webpack and Vite) so a browser bundle that uses only `memorySink` never sees `node:fs`.
 */

type FsPromises = typeof import('node:fs/promises');
type NodePath = typeof import('node:path');

let fsModule: Promise<FsPromises> | undefined;
let pathModule: Promise<NodePath> | undefined;

/**
 * Loads a module by a name given at run time. The name must arrive as a parameter: a constant in the same
 * function is folded by bundlers (esbuild), which then pull the module into a browser bundle.
 */
export function loadModule<T>(specifier: string): Promise<T> {
  return loadBuiltin<T>(specifier);
}

function loadBuiltin<T>(specifier: string): Promise<T> {
  return import(/* webpackIgnore: true */ /* @vite-ignore */ specifier) as Promise<T>;
}

export function loadFs(): Promise<FsPromises> {
  fsModule ??= loadBuiltin<FsPromises>('node:fs/promises');
  return fsModule;
}

export function loadPath(): Promise<NodePath> {
  pathModule ??= loadBuiltin<NodePath>('node:path');
  return pathModule;
}

/** True when running under Node (where the file sink can work). */
export function isNode(): boolean {
  const candidate = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof candidate?.versions?.node === 'string';
}
