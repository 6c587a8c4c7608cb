import { seededRandom as mulberry32 } from '@axios-resilience/chaos';

/**
 * mulberry32, the chaos package's seeded generator of uniform numbers in [0, 1): one generator for the
 * flaky API's fault schedules and chaos's faults, so a seed means the same thing in both.
 */
export { mulberry32 };

/** A reproducible `() => number` in [0, 1) for a numeric seed (any finite number; it is folded to 32 bits). */
export function seededRandom(seed: number): () => number {
  if (typeof seed !== 'number' || !Number.isFinite(seed)) {
    throw new TypeError(`seed: expected a finite number, got ${String(seed)}`);
  }
  return mulberry32(Math.trunc(seed));
}
