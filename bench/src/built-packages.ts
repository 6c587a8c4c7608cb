import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './child-process';

/**
 * The folders of the published packages (not private): the bench loads them from their build, as users
 * install them (the testkit, private, runs from source).
 */
function builtPackages(): string[] {
  const packagesDir = path.join(REPO_ROOT, 'packages');
  return fs.readdirSync(packagesDir).filter((name) => {
    const manifest = path.join(packagesDir, name, 'package.json');
    return fs.existsSync(manifest) && !(JSON.parse(fs.readFileSync(manifest, 'utf8')) as { private?: boolean }).private;
  });
}

function newestSourceChange(directory: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(directory, { withFileTypes: true })) {
    const full = path.join(directory, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSourceChange(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

/** Packages whose `dist` is missing or older than a file of their `src`. */
export function stalePackages(): string[] {
  return builtPackages().filter((name) => {
    const packageDir = path.join(REPO_ROOT, 'packages', name);
    const built = path.join(packageDir, 'dist', 'index.js');
    if (!fs.existsSync(built)) return true;
    return fs.statSync(built).mtimeMs < newestSourceChange(path.join(packageDir, 'src'));
  });
}

/**
 * The bench measures what users run: the built packages, not the TypeScript sources through a loader
 * (which adds helpers of its own to every function). Builds first when a package's build is missing or
 * older than its sources, so a run never measures stale code.
 */
export function ensurePackagesBuilt(log: (line: string) => void): void {
  const stale = stalePackages();
  if (stale.length === 0) return;
  log(`Building first: the build of ${stale.join(', ')} is missing or older than the sources.`);
  const build = spawnSync('pnpm', ['build'], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  if (build.status !== 0) throw new Error(`pnpm build failed (exit ${build.status ?? build.signal})`);
  const still = stalePackages();
  if (still.length > 0) throw new Error(`after pnpm build, still no fresh build of ${still.join(', ')}`);
}
