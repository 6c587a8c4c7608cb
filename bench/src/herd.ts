import { AxiosError, AxiosHeaders, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import {
  decideRetry,
  isRetryableFailure,
  resolveRetryOptions,
  RetryBudget,
  type RetryOptions,
} from '@axios-resilience/retry';
import type { Clock } from '@axios-resilience/core';
import { seededRandom } from '@axios-resilience/chaos';

/** chaos's seeded generator (mulberry32), so each seed gives one reproducible run. */
export { seededRandom };

/**
 * The thundering-herd simulation: `clients` clients have all just failed at t = 0 against a server that
 * serves `capacityPerWindow` requests per `windowMs` and rejects the rest (429, optionally with a
 * Retry-After hint). Each client then retries with the real decision code of the retry package (or a peer's
 * delay formula). Simulated time: nothing sleeps, so it is exact and fast.
 */
export interface HerdScenario {
  clients: number;
  capacityPerWindow: number;
  windowMs: number;
  /** How the server's 429 hints: none, a fixed Retry-After in seconds, or when the window with room opens. */
  serverHint: 'none' | { retryAfterSeconds: number } | 'next-free-window';
}

export interface HerdPolicy {
  name: string;
  /** Our retry options. */
  retry?: RetryOptions;
  /**
   * Whose retry budget a retry spends: each client its own (each client is its own process, the default),
   * or one budget for all (all clients are requests of one axios instance).
   * @default 'per-client'
   */
  budget?: 'per-client' | 'shared';
  /** Or a peer's delay formula: retryNumber from 1, returns ms; `undefined` gives up. */
  peerDelay?: (retryNumber: number, random: () => number) => number | undefined;
}

export interface HerdResult {
  policy: string;
  attempts: number;
  attemptsPerClient: number;
  /** Most retry attempts arriving in one window (the t = 0 failures excluded). */
  peakPerWindow: number;
  peakOverCapacity: number;
  gaveUp: number;
  completedAtMs: number;
}

interface Pending {
  client: number;
  at: number;
  attempt: number;
  totalDelayMs: number;
  previousDelayMs?: number;
}

export function simulateHerd(scenario: HerdScenario, policy: HerdPolicy, seed: number): HerdResult {
  const random = seededRandom(seed);
  let now = 0;
  const clock: Clock = { now: () => now, setTimeout: () => 0, clearTimeout: () => undefined };
  const options = policy.retry ? resolveRetryOptions({ ...policy.retry, clock, random }) : undefined;
  const bucket = options?.retryBudget || undefined;
  const makeBudget = () => new RetryBudget(bucket!.minPerSecond, bucket!.ratio, bucket!.maxTokens, clock);
  const sharedBudget = bucket && policy.budget === 'shared' ? makeBudget() : undefined;
  const budgets = bucket
    ? Array.from({ length: scenario.clients }, () => {
        const budget = sharedBudget ?? makeBudget();
        budget.recordFirstAttempt();
        return budget;
      })
    : undefined;

  const served = new Map<number, number>();
  const arrivals = new Map<number, number>();
  // A binary heap would be faster; a sorted insert is plenty for a few thousand events.
  const queue: Pending[] = [];
  const push = (item: Pending) => {
    let low = 0;
    let high = queue.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (queue[mid].at <= item.at) low = mid + 1;
      else high = mid;
    }
    queue.splice(low, 0, item);
  };

  let attempts = scenario.clients;
  let gaveUp = 0;
  let completedAtMs = 0;
  const config = { method: 'get', url: '/', headers: new AxiosHeaders() } as InternalAxiosRequestConfig;

  const scheduleAfterFailure = (item: Pending, failedAt: number) => {
    now = failedAt;
    const window = Math.floor(failedAt / scenario.windowMs);
    const headers: Record<string, string> = {};
    if (scenario.serverHint === 'next-free-window') {
      let free = window + 1;
      while ((served.get(free) ?? 0) + (arrivals.get(free) ?? 0) >= scenario.capacityPerWindow) free++;
      arrivals.set(free, (arrivals.get(free) ?? 0) + 1);
      headers['retry-after-ms'] = String(free * scenario.windowMs - failedAt);
    } else if (scenario.serverHint !== 'none') {
      headers['retry-after'] = String(scenario.serverHint.retryAfterSeconds);
    }
    let delayMs: number | undefined;
    if (policy.peerDelay) {
      delayMs = policy.peerDelay(item.attempt, random);
    } else if (options) {
      const response = {
        status: 429,
        headers: new AxiosHeaders(headers),
        config,
        data: null,
      } as unknown as AxiosResponse;
      const error = new AxiosError('Too Many Requests', AxiosError.ERR_BAD_REQUEST, config, {}, response);
      const decision = decideRetry({
        error,
        options,
        retryable: isRetryableFailure(error, options),
        attempt: item.attempt,
        totalDelayMs: item.totalDelayMs,
        firstAttemptAt: 0,
        previousDelayMs: item.previousDelayMs,
        now: failedAt,
      });
      if (decision.retry && (!budgets || budgets[item.client].tryWithdraw())) delayMs = decision.delayMs;
    }
    if (delayMs === undefined) {
      gaveUp++;
      completedAtMs = Math.max(completedAtMs, failedAt);
      return;
    }
    push({
      client: item.client,
      at: failedAt + delayMs,
      attempt: item.attempt + 1,
      totalDelayMs: item.totalDelayMs + delayMs,
      previousDelayMs: delayMs,
    });
  };

  for (let client = 0; client < scenario.clients; client++) {
    scheduleAfterFailure({ client, at: 0, attempt: 1, totalDelayMs: 0 }, 0);
  }
  const perWindow = new Map<number, number>();
  while (queue.length > 0) {
    const item = queue.shift()!;
    attempts++;
    const window = Math.floor(item.at / scenario.windowMs);
    perWindow.set(window, (perWindow.get(window) ?? 0) + 1);
    const count = served.get(window) ?? 0;
    if (scenario.serverHint === 'next-free-window') arrivals.set(window, Math.max(0, (arrivals.get(window) ?? 0) - 1));
    if (count < scenario.capacityPerWindow) {
      served.set(window, count + 1);
      completedAtMs = Math.max(completedAtMs, item.at);
    } else {
      scheduleAfterFailure(item, item.at);
    }
  }
  const peakPerWindow = Math.max(0, ...perWindow.values());
  return {
    policy: policy.name,
    attempts,
    attemptsPerClient: attempts / scenario.clients,
    peakPerWindow,
    peakOverCapacity: peakPerWindow / scenario.capacityPerWindow,
    gaveUp,
    completedAtMs,
  };
}

/** axios-retry 4.5's `exponentialDelay` (delayFactor 100, +0-20 %), retries 3 by default; here unbounded like the study. */
export function axiosRetryExponentialDelay(retryNumber: number, random: () => number): number {
  const delay = 2 ** retryNumber * 100;
  return delay + delay * 0.2 * random();
}

/** The article's formula: `min(60 s, 500 * 2^n) + 0-500 ms`, five retries. */
export function articleDelay(retryNumber: number, random: () => number): number | undefined {
  if (retryNumber > 5) return undefined;
  return Math.min(60_000, 500 * 2 ** (retryNumber - 1)) + Math.floor(random() * 500);
}
