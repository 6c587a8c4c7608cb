// Runs publint and `attw --pack` on every publishable package, as a user's install would see it.
// Packs with pnpm so `workspace:` ranges become real versions, exactly as published.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { publishablePackages, repoRoot } from './publishable-packages.mjs';

const packDir = path.join(repoRoot, '.tmp', 'packs');
fs.rmSync(packDir, { recursive: true, force: true });
fs.mkdirSync(packDir, { recursive: true });
const bin = (name) => path.join(repoRoot, 'node_modules', '.bin', name);

let failed = 0;
for (const { dir, manifest } of publishablePackages()) {
  if (!fs.existsSync(path.join(dir, 'dist'))) {
    console.error(`${manifest.name}: no dist/ (run pnpm build first)`);
    failed++;
    continue;
  }
  const before = new Set(fs.readdirSync(packDir));
  execFileSync('pnpm', ['pack', '--pack-destination', packDir], { cwd: dir, stdio: 'ignore' });
  const tarball = fs.readdirSync(packDir).find((file) => !before.has(file));
  for (const [tool, args] of [
    ['publint', [path.join(packDir, tarball), '--strict']],
    ['attw', [path.join(packDir, tarball), '--format', 'table-flipped']],
  ]) {
    try {
      execFileSync(bin(tool), args, { cwd: dir, stdio: 'pipe' });
      console.log(`ok   ${manifest.name}: ${tool}`);
    } catch (error) {
      failed++;
      console.error(`FAIL ${manifest.name}: ${tool}\n${error.stdout ?? ''}${error.stderr ?? ''}`);
    }
  }
}
if (failed) {
  console.error(`${failed} package check(s) failed`);
  process.exit(1);
}
