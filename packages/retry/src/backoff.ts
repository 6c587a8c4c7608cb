import type { Random } from '@axios-resilience/core';

/** How a computed exponential delay is spread out so that many clients do not retry in lockstep. */
export type JitterKind = 'additive' | 'full' | 'equal' | 'decorrelated' | 'none';

/** What a custom jitter function is given. */
export interface JitterState {
  /** 0 for the first retry. */
  retryIndex: number;
  /** `min(maxDelayMs, baseDelayMs * 2^retryIndex)`, before jitter. */
  exponentialDelayMs: number;
  /** The wait chosen before the previous retry (`baseDelayMs` before the first). */
  previousDelayMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
  jitterMs: number;
  random: Random;
}

/** A custom jitter: returns the wait in ms. Out-of-range results are clamped to `[0, maxDelayMs + jitterMs]`. */
export type JitterFunction = (state: JitterState) => number;

/** The built-in jitter kinds. */
export const JITTER_KINDS: readonly JitterKind[] = ['additive', 'full', 'equal', 'decorrelated', 'none'];

/** The inputs of `backoffDelay`. */
export interface BackoffInput {
  retryIndex: number;
  baseDelayMs: number;
  maxDelayMs: number;
  jitter: JitterKind | JitterFunction;
  jitterMs: number;
  previousDelayMs?: number;
  random: Random;
}

/** `min(maxDelayMs, baseDelayMs * 2^retryIndex)`, safe for large indexes. */
export function exponentialDelay(retryIndex: number, baseDelayMs: number, maxDelayMs: number): number {
  const exponent = Math.min(retryIndex, 52);
  return Math.min(maxDelayMs, baseDelayMs * 2 ** exponent);
}

/**
 * The wait before retry `retryIndex` when the server gave no hint. Pure: exported so users and the
 * herd benchmark can run the exact schedule.
 * - `additive` (default): exponential + uniform 0..jitterMs.
 * - `full`: uniform 0..exponential (AWS "full jitter").
 * - `equal`: half the exponential + uniform 0..half.
 * - `decorrelated`: uniform baseDelayMs..3x the previous wait, capped (AWS "decorrelated jitter").
 * - `none`: the exponential alone.
 */
export function backoffDelay(input: BackoffInput): number {
  const { retryIndex, baseDelayMs, maxDelayMs, jitter, jitterMs, random } = input;
  const exponential = exponentialDelay(retryIndex, baseDelayMs, maxDelayMs);
  const previous = input.previousDelayMs ?? baseDelayMs;
  let delay: number;
  if (typeof jitter === 'function') {
    const chosen = jitter({
      retryIndex,
      exponentialDelayMs: exponential,
      previousDelayMs: previous,
      baseDelayMs,
      maxDelayMs,
      jitterMs,
      random,
    });
    delay = Number.isFinite(chosen) ? Math.min(Math.max(0, chosen), maxDelayMs + jitterMs) : exponential;
  } else {
    switch (jitter) {
      case 'additive':
        delay = exponential + random() * jitterMs;
        break;
      case 'full':
        delay = random() * exponential;
        break;
      case 'equal':
        delay = exponential / 2 + (random() * exponential) / 2;
        break;
      case 'decorrelated': {
        const upper = Math.max(baseDelayMs, previous * 3);
        delay = Math.min(maxDelayMs, baseDelayMs + random() * (upper - baseDelayMs));
        break;
      }
      case 'none':
        delay = exponential;
        break;
    }
  }
  return Math.round(delay);
}
