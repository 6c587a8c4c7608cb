import type { Clock } from './clock';

/**
 * Attach-time option checks. Each throws a `TypeError` naming the option path, what was expected and
 * what was given, so a wrong option fails where it is written rather than on the first outage.
 */

/** A short, safe description of a value for an error message (long strings cut). */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  return `an object`;
}

/** The `TypeError` every option check throws: `path: expected X, got Y`. */
export function optionError(path: string, expected: string, value: unknown): TypeError {
  return new TypeError(`${path}: expected ${expected}, got ${describeValue(value)}`);
}

/** Checks an integer >= 0. */
export function assertNonNegativeInteger(path: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw optionError(path, 'a non-negative integer', value);
  }
}

/** Checks an integer >= 1. */
export function assertPositiveInteger(path: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw optionError(path, 'a positive integer', value);
  }
}

/** A finite number >= 0 (Infinity is refused: every wait in the suite is bounded). */
export function assertNonNegativeNumber(path: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw optionError(path, 'a finite number >= 0', value);
  }
}

/** Checks a finite number > 0. */
export function assertPositiveNumber(path: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw optionError(path, 'a finite number > 0', value);
  }
}

/** Checks a number from 0 to 1. */
export function assertRatio(path: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw optionError(path, 'a number from 0 to 1', value);
  }
}

/** Checks a boolean. */
export function assertBoolean(path: string, value: unknown): asserts value is boolean {
  if (typeof value !== 'boolean') throw optionError(path, 'a boolean', value);
}

/**
 * Checks a function, keeping its declared type.
 * @typeParam T - the function type the caller declared for the option
 */
export function assertFunction<T extends (...args: never[]) => unknown = (...args: never[]) => unknown>(
  path: string,
  value: unknown,
): asserts value is T {
  if (typeof value !== 'function') throw optionError(path, 'a function', value);
}

/** Checks a `Clock`: an object with `now`, `setTimeout` and `clearTimeout` functions. */
export function assertClock(path: string, value: unknown): asserts value is Clock {
  assertPlainObject(path, value);
  for (const method of ['now', 'setTimeout', 'clearTimeout'] as const)
    assertFunction(`${path}.${method}`, value[method]);
}

/** Checks a string among `allowed`. */
export function assertOneOf<T extends string>(path: string, value: unknown, allowed: readonly T[]): asserts value is T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw optionError(path, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  }
}

/** Checks a non-empty string. */
export function assertNonEmptyString(path: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) throw optionError(path, 'a non-empty string', value);
}

/** Checks an object that is not null or an array. */
export function assertPlainObject(path: string, value: unknown): asserts value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw optionError(path, 'an object', value);
  }
}

/** Rejects keys a layer does not know, so a typo (`maxRetry`) fails loudly instead of being ignored. */
export function assertKnownKeys(path: string, value: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new TypeError(`${path ? `${path}.` : ''}${key}: unknown option (known: ${known.join(', ')})`);
    }
  }
}
