import { randomUUID } from 'node:crypto';

/**
 * The client code under test, as the article this project grew from ships it ("Layer 1" and "Layer 2"),
 * unchanged but for the API's address and a local stand-in for the key. It is the kind of code a chaos proxy
 * is for: nobody is going to rewrite it before staging, so the faults have to come from outside.
 */

// fetchWithBackoff.ts — ~40 lines, no deps
type Options = RequestInit & { maxRetries?: number; baseDelayMs?: number };

export async function fetchWithBackoff(url: string, opts: Options = {}) {
  const { maxRetries = 5, baseDelayMs = 500, ...init } = opts;
  let attempt = 0;

  while (true) {
    const res = await fetch(url, init);

    if (res.ok) return res;

    const isRetryable = res.status === 429 || res.status >= 500;
    if (!isRetryable || attempt >= maxRetries) {
      throw new Error(`${res.status} ${res.statusText} on ${url}`);
    }

    // 1. Prefer the server's hint
    const retryAfter = res.headers.get('retry-after');
    let waitMs: number;
    if (retryAfter) {
      const asNumber = Number(retryAfter);
      waitMs = Number.isFinite(asNumber) ? asNumber * 1000 : Math.max(0, new Date(retryAfter).getTime() - Date.now());
    } else {
      // 2. Otherwise exponential backoff with jitter, capped at 60s
      const exp = Math.min(60_000, baseDelayMs * 2 ** attempt);
      const jitter = Math.floor(Math.random() * 500);
      waitMs = exp + jitter;
    }

    await new Promise((r) => setTimeout(r, waitMs));
    attempt++;
  }
}

export async function createCharge(apiUrl: string, amount: number, customerId: string) {
  // Generate ONCE per logical operation, reused across all retries
  const idempotencyKey = randomUUID();

  return fetchWithBackoff(`${apiUrl}/charges`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${process.env.STRIPE_KEY ?? 'sk_test_local'}`,
      'Idempotency-Key': idempotencyKey,
      'Content-Type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ amount: String(amount), customer: customerId, currency: 'usd' }),
  });
}
