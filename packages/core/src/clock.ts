/**
 * The time source every layer waits on. Injectable so tests can drive it; the default reads the global
 * timers at call time (not at import time), so jest's fake timers and sinon's clocks take effect.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `callback` once after `ms`; returns a handle for `clearTimeout`. */
  setTimeout(callback: () => void, ms: number): unknown;
  /** Cancels a pending `setTimeout`. */
  clearTimeout(handle: unknown): void;
}

/** The global timers and `Date.now`, looked up on every call. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** A source of uniform numbers in [0, 1). The default reads `Math.random` at call time. */
export type Random = () => number;

/** `Math.random`, looked up on every call. */
export const systemRandom: Random = () => Math.random();
