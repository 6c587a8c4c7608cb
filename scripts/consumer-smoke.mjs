// Packs @axios-resilience/core and @axios-resilience/retry, installs the tarballs into a throwaway project
// outside the workspace, and uses them once through `import` and once through `require`, with a real axios
// against a loopback server that fails once and then answers.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './publishable-packages.mjs';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'axios-resilience-consumer-'));
try {
  const tarballs = ['core', 'retry'].map((name) => {
    const dir = path.join(repoRoot, 'packages', name);
    const output = execFileSync('pnpm', ['pack', '--pack-destination', work], { cwd: dir, encoding: 'utf8' });
    const file = output.trim().split('\n').pop().trim();
    return path.isAbsolute(file) ? file : path.join(work, path.basename(file));
  });
  fs.writeFileSync(path.join(work, 'package.json'), JSON.stringify({ name: 'consumer', private: true }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', 'axios@^1.6.0', ...tarballs], {
    cwd: work,
    stdio: 'inherit',
  });

  const server = `
const http = require('node:http');
function startFlakyOnce() {
  let count = 0;
  const server = http.createServer((request, response) => {
    count += 1;
    response.writeHead(count === 1 ? 503 : 200, { 'content-type': 'application/json', 'retry-after': '0' });
    response.end(JSON.stringify({ count }));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: 'http://127.0.0.1:' + server.address().port, requests: () => count })));
}
module.exports = { startFlakyOnce };
`;
  fs.writeFileSync(path.join(work, 'server.cjs'), server);
  fs.writeFileSync(
    path.join(work, 'use-require.cjs'),
    `const axios = require('axios');
const { attachRetry } = require('@axios-resilience/retry');
const { isResilienceError } = require('@axios-resilience/core');
const { startFlakyOnce } = require('./server.cjs');
(async () => {
  const { server, url, requests } = await startFlakyOnce();
  const instance = axios.create({ baseURL: url });
  attachRetry(instance, { retryBudget: false });
  const response = await instance.get('/');
  server.close();
  if (response.status !== 200 || requests() !== 2 || typeof isResilienceError !== 'function') process.exit(1);
  console.log('require: ok, ' + requests() + ' requests');
})().catch((error) => { console.error(error); process.exit(1); });
`,
  );
  fs.writeFileSync(
    path.join(work, 'use-import.mjs'),
    `import axios from 'axios';
import { attachRetry, backoffDelay } from '@axios-resilience/retry';
import { parseRetryAfter } from '@axios-resilience/core';
import server from './server.cjs';
const { server: httpServer, url, requests } = await server.startFlakyOnce();
const instance = axios.create({ baseURL: url });
attachRetry(instance, { retryBudget: false });
const response = await instance.get('/');
httpServer.close();
if (response.status !== 200 || requests() !== 2 || parseRetryAfter('2', 0) !== 2000 || typeof backoffDelay !== 'function') process.exit(1);
console.log('import: ok, ' + requests() + ' requests');
`,
  );
  execFileSync(process.execPath, ['use-require.cjs'], { cwd: work, stdio: 'inherit' });
  execFileSync(process.execPath, ['use-import.mjs'], { cwd: work, stdio: 'inherit' });
  console.log('consumer smoke test passed');
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
