/**
 * mulberry32: a tiny seeded generator of uniform numbers in [0, 1). Not for secrets; for fault schedules
 * that must come out the same on every run with the same seed.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

/** A reproducible `() => number` in [0, 1) for a numeric seed (any finite number; it is folded to 32 bits). */
export function seededRandom(seed: number): () => number {
  if (typeof seed !== 'number' || !Number.isFinite(seed)) {
    throw new TypeError(`seed: expected a finite number, got ${String(seed)}`);
  }
  return mulberry32(Math.trunc(seed));
}
