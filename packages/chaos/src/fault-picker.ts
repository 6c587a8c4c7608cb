import {
  assertFunction,
  assertKnownKeys,
  assertPlainObject,
  assertRatio,
  optionError,
  systemRandom,
  type Random,
} from '@axios-resilience/core';
import { DEFAULT_FAULTS, resolveFaults, type ChaosFault, type ResolvedChaosFault } from './fault';
import { seededRandom } from './seeded-random';

/** Options of `createFaultPicker`, shared by `attachChaos` and the proxy: how often, and which faults. */
export interface FaultPickerOptions {
  /**
   * The share of requests that get a fault, from 0 to 1.
   * @default 0.01
   */
  rate?: number;
  /**
   * The weighted faults to choose from.
   * @default DEFAULT_FAULTS (429 with `Retry-After: 1`, 503, ECONNRESET; equal weights)
   */
  faults?: readonly ChaosFault[];
  /**
   * A seed that makes the fault sequence reproducible: the same seed gives the same faults in the same order.
   * Cannot be combined with `random`.
   * @default undefined (use `random`)
   */
  seed?: number;
  /**
   * The source of uniform numbers in [0, 1).
   * @default Math.random, read at call time
   */
  random?: Random;
}

/** Fault-picker options with every default filled in and every value checked. */
export interface ResolvedFaultPickerOptions {
  /** See `FaultPickerOptions.rate`. */
  rate: number;
  /** See `FaultPickerOptions.faults`; each fault with its defaults filled in. */
  faults: readonly ResolvedChaosFault[];
  /** See `FaultPickerOptions.seed`. */
  seed: number | undefined;
  /** The generator draws come from: the seeded one when `seed` is set, else `FaultPickerOptions.random`. */
  random: Random;
}

/** One request in a hundred gets a fault by default: enough to exercise recovery without drowning real traffic. */
export const DEFAULT_CHAOS_RATE = 0.01;

/** The option names the picker reads, for the known-key checks of the options that include them. */
export const FAULT_PICKER_KEYS: readonly string[] = ['rate', 'faults', 'seed', 'random'];

/** Decides one request's fate: a fault, or `undefined` to let it through untouched. */
export type FaultPicker = () => ResolvedChaosFault | undefined;

/**
 * Validates the picker's part of the options. `path` prefixes option names in errors. Known-key checking is
 * left to the caller, whose options hold more than these.
 */
export function resolveFaultPickerOptions(
  options: Record<string, unknown>,
  path = 'chaos',
): ResolvedFaultPickerOptions {
  const rate = options.rate ?? DEFAULT_CHAOS_RATE;
  assertRatio(`${path}.rate`, rate);
  const faults = resolveFaults(options.faults ?? DEFAULT_FAULTS, `${path}.faults`);
  const { seed, random } = options;
  if (seed !== undefined) {
    if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) throw optionError(`${path}.seed`, 'an integer', seed);
    if (random !== undefined) {
      throw new TypeError(`${path}.seed: cannot be combined with ${path}.random (the seed already makes the numbers)`);
    }
  }
  if (random !== undefined) assertFunction<Random>(`${path}.random`, random);
  return {
    rate,
    faults,
    seed: seed as number | undefined,
    random: seed !== undefined ? seededRandom(seed as number) : (random ?? systemRandom),
  };
}

/** Draws from already validated options: one number decides whether, a second one which fault. */
export function pickerFromResolved({ rate, faults, random }: ResolvedFaultPickerOptions): FaultPicker {
  const totalWeight = faults.reduce((sum, fault) => sum + fault.weight, 0);
  return () => {
    if (!(random() < rate)) return undefined;
    let remaining = random() * totalWeight;
    for (const fault of faults) {
      if (fault.weight === 0) continue;
      remaining -= fault.weight;
      if (remaining < 0) return fault;
    }
    // Rounding can leave a sliver past the last bucket: it belongs to the last fault that can be drawn.
    return [...faults].reverse().find((fault) => fault.weight > 0);
  };
}

/**
 * A pure fault decision shared by the in-process layer and the proxy: each call is one request. With a
 * `seed`, two pickers built alike return the same sequence. Throws a `TypeError` naming a wrong option.
 */
export function createFaultPicker(options: FaultPickerOptions = {}): FaultPicker {
  assertPlainObject('faultPicker', options);
  assertKnownKeys('faultPicker', options as Record<string, unknown>, FAULT_PICKER_KEYS);
  return pickerFromResolved(resolveFaultPickerOptions(options as Record<string, unknown>, 'faultPicker'));
}
