import type { Random } from '@axios-resilience/core';

/**
 * A small, fast seeded generator (mulberry32) of uniform numbers in [0, 1). Not for cryptography: it
 * exists so that one numeric seed replays one exact fault sequence, in process and in the proxy alike.
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
}
