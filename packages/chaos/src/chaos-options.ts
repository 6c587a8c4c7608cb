import type { InternalAxiosRequestConfig } from 'axios';
import {
  assertBoolean,
  assertClock,
  assertFunction,
  assertKnownKeys,
  assertPlainObject,
  systemClock,
  systemRandom,
  type Clock,
} from '@axios-resilience/core';
import { DEFAULT_FAULTS, type ResolvedChaosFault } from './fault';
import {
  DEFAULT_CHAOS_RATE,
  FAULT_PICKER_KEYS,
  resolveFaultPickerOptions,
  type FaultPickerOptions,
  type ResolvedFaultPickerOptions,
} from './fault-picker';

/** What `onFault` receives: the fault chosen and a summary of the request (never its headers or body). */
export interface ChaosFaultState {
  /** The fault about to be made, defaults filled in. */
  fault: ResolvedChaosFault;
  /** Upper-case HTTP method. */
  method: string;
  /** The absolute URL, baseURL joined and params serialised. */
  url: string;
  /** The attempt the fault hits (1 for the first; retries re-enter the chain and draw again). */
  attempt: number;
}

/** Options of `attachChaos` and `createChaosInterceptors`: which faults, how often, on which requests. */
export interface ChaosOptions extends FaultPickerOptions {
  /**
   * Which requests may get a fault; others pass untouched and do not consume a draw. A `match` that throws
   * counts as no match. It sees the request before axios serialises its body.
   * @default every request
   */
  match?: (config: InternalAxiosRequestConfig) => boolean | Promise<boolean>;
  /**
   * Called when a fault is chosen for an attempt, before it happens. Errors it throws are ignored.
   * @default undefined
   */
  onFault?: (state: ChaosFaultState) => void | Promise<void>;
  /**
   * The timers that latency and timeouts wait on.
   * @default the global timers, read at call time
   */
  clock?: Clock;
  /**
   * Run even when `NODE_ENV` is `production`. Without it, attaching there throws `ERR_CHAOS_REFUSED`.
   * @default false
   */
  allowInProduction?: boolean;
}

/** Chaos options with every default filled in and every value checked. */
export interface ResolvedChaosOptions extends ResolvedFaultPickerOptions {
  /** See `ChaosOptions.match`. */
  match: ChaosOptions['match'];
  /** See `ChaosOptions.onFault`. */
  onFault: ChaosOptions['onFault'];
  /** See `ChaosOptions.clock`. */
  clock: Clock;
  /** See `ChaosOptions.allowInProduction`. */
  allowInProduction: boolean;
}

/** The defaults in one place; `seed`, `match` and `onFault` are unset by default. */
export const DEFAULT_CHAOS_OPTIONS = Object.freeze({
  rate: DEFAULT_CHAOS_RATE,
  faults: DEFAULT_FAULTS,
  random: systemRandom,
  clock: systemClock,
  allowInProduction: false,
}) satisfies ChaosOptions;

const KNOWN_KEYS: readonly string[] = [...FAULT_PICKER_KEYS, 'match', 'onFault', 'clock', 'allowInProduction'];

/** Validates the options of `attachChaos` and fills in defaults. Throws a `TypeError` naming a wrong option. */
export function resolveChaosOptions(options: ChaosOptions = {}, path = 'chaos'): ResolvedChaosOptions {
  assertPlainObject(path, options);
  assertKnownKeys(path, options as Record<string, unknown>, KNOWN_KEYS);
  const picker = resolveFaultPickerOptions(options as Record<string, unknown>, path);
  const {
    match,
    onFault,
    clock = DEFAULT_CHAOS_OPTIONS.clock,
    allowInProduction = DEFAULT_CHAOS_OPTIONS.allowInProduction,
  } = options;
  if (match !== undefined) assertFunction<NonNullable<ChaosOptions['match']>>(`${path}.match`, match);
  if (onFault !== undefined) assertFunction<NonNullable<ChaosOptions['onFault']>>(`${path}.onFault`, onFault);
  assertClock(`${path}.clock`, clock);
  assertBoolean(`${path}.allowInProduction`, allowInProduction);
  return { ...picker, match, onFault, clock, allowInProduction };
}
