import {
  DEFAULT_IDEMPOTENCY_HEADER,
  assertFunction,
  assertKnownKeys,
  assertNonEmptyString,
  assertOneOf,
  assertPlainObject,
  assertPositiveInteger,
  optionError,
  systemClock,
  type Clock,
} from '@axios-resilience/core';
import { v4 as uuidv4 } from 'uuid';
import type { IdempotencyKeyFormat } from './idempotency-key';
import {
  DEFAULT_REUSE_GUARD_OPTIONS,
  assertClock,
  resolveReuseGuardOptions,
  type ResolvedReuseGuardOptions,
  type ReuseGuard,
  type ReuseGuardOptions,
} from './reuse-guard';

/** Makes a fresh key for a new logical operation. */
export type GenerateKey = () => string;

/** Options of `attachIdempotency` and `createIdempotencyInterceptors`. */
export interface IdempotencyOptions {
  /**
   * The header that carries the key.
   * @default 'Idempotency-Key'
   */
  headerName?: string;
  /**
   * Methods that get a key generated when the caller gave none. A caller's own key
   * (`resilience.idempotencyKey`) is sent whatever the method.
   * @default ['POST', 'PUT', 'PATCH', 'DELETE']
   */
  methods?: readonly string[];
  /**
   * Makes the key of a new logical operation. Called once per operation, never on a retry. Must return a
   * non-empty string of printable ASCII, at most `maxKeyLength` characters.
   * @default uuid v4 (122 random bits; v7 would leak the creation time)
   */
  generateKey?: GenerateKey;
  /**
   * `'raw'` sends the key as it is (Stripe and most APIs); `'structured'` sends the IETF draft's quoted
   * sf-string (`"key"`). `config.resilience.idempotencyKey` always holds the raw key.
   * @default 'raw'
   */
  format?: IdempotencyKeyFormat;
  /**
   * Longest key accepted from `generateKey` or `resilience.idempotencyKey`.
   * @default 255 (Stripe's limit)
   */
  maxKeyLength?: number;
  /**
   * The reuse guard: limits of its in-process record of key -> request, a guard made with
   * `createReuseGuard` (to share one between instances), or `false` to turn it off.
   * @default { maxEntries: 10_000, maxAgeMs: 86_400_000 }
   */
  guard?: ReuseGuardOptions | ReuseGuard | false;
  /**
   * Time source for the guard's age limit.
   * @default systemClock
   */
  clock?: Clock;
}

/** Options with every default filled in and every value checked, as `resolveIdempotencyOptions` returns them. */
export interface ResolvedIdempotencyOptions {
  /** See `IdempotencyOptions.headerName`. */
  headerName: string;
  /** See `IdempotencyOptions.methods`; upper-cased here, so comparisons need no case folding. */
  methods: readonly string[];
  /** See `IdempotencyOptions.generateKey`. */
  generateKey: GenerateKey;
  /** See `IdempotencyOptions.format`. */
  format: IdempotencyKeyFormat;
  /** See `IdempotencyOptions.maxKeyLength`. */
  maxKeyLength: number;
  /** Limits for a guard of this attachment's own, a shared guard, or `false`. */
  guard: ResolvedReuseGuardOptions | ReuseGuard | false;
  /** See `IdempotencyOptions.clock`. */
  clock: Clock;
}

/**
 * A fresh uuid v4: `uuid`'s own generator, not a wrapper around it, since it runs on every write (it calls the
 * platform's `crypto.randomUUID` where there is one).
 */
export const defaultGenerateKey: () => string = uuidv4 as () => string;

/**
 * The defaults in one place: a uuid v4 key for POST, PUT, PATCH and DELETE, sent raw in `Idempotency-Key`,
 * at most 255 characters, and a reuse guard remembering 10,000 keys for 24 hours.
 */
export const DEFAULT_IDEMPOTENCY_OPTIONS: Readonly<{
  headerName: string;
  methods: readonly string[];
  generateKey: GenerateKey;
  format: IdempotencyKeyFormat;
  maxKeyLength: number;
  guard: { readonly maxEntries: number; readonly maxAgeMs: number };
  clock: Clock;
}> = Object.freeze({
  headerName: DEFAULT_IDEMPOTENCY_HEADER,
  methods: Object.freeze(['POST', 'PUT', 'PATCH', 'DELETE']),
  generateKey: defaultGenerateKey,
  format: 'raw',
  maxKeyLength: 255,
  guard: DEFAULT_REUSE_GUARD_OPTIONS,
  clock: systemClock,
});

const KNOWN_OPTIONS = ['headerName', 'methods', 'generateKey', 'format', 'maxKeyLength', 'guard', 'clock'] as const;

/** RFC 9110 token characters: what a header name may be made of. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** An HTTP method: a token, compared upper-case. */
const METHOD = /^[A-Za-z]+$/;

function isReuseGuard(value: unknown): value is ReuseGuard {
  return typeof value === 'object' && value !== null && typeof (value as ReuseGuard).check === 'function';
}

/**
 * Validates options at attach time and fills in the defaults. A wrong option throws a `TypeError` naming
 * the option, what was expected and what was given.
 */
export function resolveIdempotencyOptions(options: IdempotencyOptions = {}): ResolvedIdempotencyOptions {
  assertPlainObject('options', options);
  assertKnownKeys('', options as Record<string, unknown>, KNOWN_OPTIONS);
  const defaults = DEFAULT_IDEMPOTENCY_OPTIONS;

  const headerName = options.headerName ?? defaults.headerName;
  assertNonEmptyString('headerName', headerName);
  if (!HEADER_NAME.test(headerName)) throw optionError('headerName', 'a valid HTTP header name', headerName);

  const methods: unknown = options.methods ?? defaults.methods;
  if (!Array.isArray(methods)) throw optionError('methods', 'an array of HTTP methods', methods);
  methods.forEach((method: unknown, index) => {
    if (typeof method !== 'string' || !METHOD.test(method)) {
      throw optionError(`methods[${index}]`, 'an HTTP method name such as "POST"', method);
    }
  });

  const generateKey = options.generateKey ?? defaults.generateKey;
  assertFunction<GenerateKey>('generateKey', generateKey);

  const format = options.format ?? defaults.format;
  assertOneOf('format', format, ['raw', 'structured'] as const);

  const maxKeyLength = options.maxKeyLength ?? defaults.maxKeyLength;
  assertPositiveInteger('maxKeyLength', maxKeyLength);

  const clock = options.clock ?? defaults.clock;
  assertClock('clock', clock);

  let guard: ResolvedIdempotencyOptions['guard'];
  const guardOption: unknown = options.guard ?? {};
  if (guardOption === false) guard = false;
  else if (isReuseGuard(guardOption)) guard = guardOption;
  else if (typeof guardOption !== 'object' || guardOption === null || Array.isArray(guardOption)) {
    throw optionError('guard', 'limits { maxEntries, maxAgeMs }, a guard from createReuseGuard, or false', guardOption);
  } else guard = resolveReuseGuardOptions({ clock, ...guardOption }, 'guard');

  return {
    headerName,
    methods: (methods as string[]).map((method) => method.toUpperCase()),
    generateKey,
    format,
    maxKeyLength,
    guard,
    clock,
  };
}
