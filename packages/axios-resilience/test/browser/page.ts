// Bundled with axios for the browser test: the isomorphic layers (retry, idempotency keys, the in-memory
// rate limiter) running in a real browser against a flaky API on loopback.
import axios from 'axios';
import { attachRetry } from '@axios-resilience/retry';
import { attachIdempotency, wasReplayed } from '@axios-resilience/idempotency';
import { attachRateLimit, memoryLimiter } from '@axios-resilience/ratelimit';

export interface BrowserOperation {
  amount: number;
  chargeId: string;
  key: string;
  attempts: number;
  elapsedMs: number;
  replayed: boolean;
}

export interface BrowserScenarioResult {
  operations: BrowserOperation[];
  waits: Array<{ delayMs: number; source: string; status: number | undefined }>;
  userAgent: string;
}

declare global {
  interface Window {
    runScenario(apiUrl: string, operations: number): Promise<BrowserScenarioResult>;
  }
}

function render(result: BrowserScenarioResult): void {
  const rows = result.operations
    .map(
      (operation) =>
        `<tr><td>${operation.amount}</td><td>${operation.chargeId}</td><td><code>${operation.key}</code></td>` +
        `<td>${operation.attempts}</td><td>${Math.round(operation.elapsedMs)} ms</td></tr>`,
    )
    .join('');
  const waits = result.waits.map((wait) => `${wait.status} → ${wait.delayMs} ms (${wait.source})`).join(', ');
  document.body.innerHTML =
    `<h1>axios-resilience in the browser</h1>` +
    `<p id="status">${result.operations.length} charges, each exactly once</p>` +
    `<table border="1" cellpadding="4"><tr><th>amount</th><th>charge</th><th>idempotency key</th><th>attempts</th><th>took</th></tr>${rows}</table>` +
    `<p>retry waits: ${waits}</p><p><small>${result.userAgent}</small></p>`;
}

window.runScenario = async (apiUrl, count) => {
  const api = axios.create({ baseURL: apiUrl, timeout: 5000 });
  const waits: BrowserScenarioResult['waits'] = [];
  attachIdempotency(api);
  attachRateLimit(api, { limiter: memoryLimiter({ limit: 20, intervalMs: 1000 }) });
  attachRetry(api, {
    baseDelayMs: 100,
    jitter: 'none',
    onRetry: ({ delayMs, source, status }) => void waits.push({ delayMs, source, status }),
  });
  const operations: BrowserOperation[] = [];
  for (let index = 0; index < count; index++) {
    const startedAt = performance.now();
    const response = await api.post<{ id: string }>('/charges', { amount: 100 + index, currency: 'usd' });
    operations.push({
      amount: 100 + index,
      chargeId: response.data.id,
      key: String(response.config.resilience?.idempotencyKey),
      attempts: response.config.resilience?.attempt ?? 0,
      elapsedMs: performance.now() - startedAt,
      replayed: wasReplayed(response),
    });
  }
  const result = { operations, waits, userAgent: navigator.userAgent };
  render(result);
  return result;
};
