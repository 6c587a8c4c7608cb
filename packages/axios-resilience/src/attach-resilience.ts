import type { AxiosInstance } from 'axios';
import { assertKnownKeys, assertPlainObject, optionError, type Attachment } from '@axios-resilience/core';
import { attachRetry, type RetryOptions } from '@axios-resilience/retry';
import { attachIdempotency, type IdempotencyOptions } from '@axios-resilience/idempotency';
import {
  attachRateLimit,
  memoryLimiter,
  type MemoryLimiterOptions,
  type RateLimitOptions,
} from '@axios-resilience/ratelimit';
import { attachDeadLetter, fileSink, type DeadLetterOptions } from '@axios-resilience/dlq';
import { attachChaos, type ChaosOptions } from '@axios-resilience/chaos';

/**
 * Rate-limit options for the umbrella: either full `attachRateLimit` options with your own `limiter`, or
 * the shorthand `{ limit, intervalMs, ... }` that builds the embedded in-memory limiter.
 */
export type ResilienceRateLimitOptions =
  RateLimitOptions | (MemoryLimiterOptions & Omit<RateLimitOptions, 'limiter' | 'clock'>);

/** Options of `attachResilience`: one key per layer. */
export interface ResilienceOptions {
  /**
   * Layer 1. Options for `attachRetry`, or `false` to leave it off.
   * @default {} (on, with its defaults)
   */
  retry?: RetryOptions | false;
  /**
   * Layer 2. Options for `attachIdempotency`, or `false` to leave it off.
   * @default {} (on, with its defaults)
   */
  idempotency?: IdempotencyOptions | false;
  /**
   * Layer 3. Off unless given: the right limit is the upstream's, and only you know it.
   * @default undefined (off)
   */
  rateLimit?: ResilienceRateLimitOptions | false;
  /**
   * Layer 4. `true` writes dead letters to `./dead-letters.jsonl`; an object gives `attachDeadLetter` options
   * (the same file sink unless it names another).
   * @default undefined (off)
   */
  deadLetter?: DeadLetterOptions | boolean;
  /**
   * Fault injection, for staging and tests. Refuses to attach under `NODE_ENV=production` unless told.
   * @default undefined (off)
   */
  chaos?: ChaosOptions | false;
}

/** Where `deadLetter: true` writes, relative to the working directory. */
export const DEFAULT_DEAD_LETTER_PATH = './dead-letters.jsonl';

const LAYER_KEYS = ['retry', 'idempotency', 'rateLimit', 'deadLetter', 'chaos'] as const;

export interface ResilienceAttachment extends Attachment {
  /** The names of the layers attached, in pipeline order. */
  readonly layers: readonly string[];
}

function rateLimitOptions(options: ResilienceRateLimitOptions): RateLimitOptions {
  if ('limiter' in options && options.limiter) return options as RateLimitOptions;
  const { limit, intervalMs, algorithm, burst, marginMs, stampAt, ...rest } = options as MemoryLimiterOptions &
    Omit<RateLimitOptions, 'limiter'>;
  const limiterOptions = Object.fromEntries(
    Object.entries({ limit, intervalMs, algorithm, burst, marginMs, stampAt }).filter(
      ([, value]) => value !== undefined,
    ),
  ) as unknown as MemoryLimiterOptions;
  return { ...rest, limiter: memoryLimiter(limiterOptions) };
}

/**
 * Installs the whole pipeline on an axios instance: retry and idempotency keys by default, a rate limiter
 * and a dead-letter queue when asked, chaos for tests. Each layer validates its options as it attaches;
 * when one is wrong the layers already attached are ejected, so a bad option leaves the instance untouched.
 */
export function attachResilience(instance: AxiosInstance, options: ResilienceOptions = {}): ResilienceAttachment {
  assertPlainObject('options', options as unknown);
  assertKnownKeys('', options as Record<string, unknown>, LAYER_KEYS);
  for (const key of LAYER_KEYS) {
    const value = options[key];
    const allowsTrue = key === 'deadLetter';
    if (
      value !== undefined &&
      value !== false &&
      !(allowsTrue && value === true) &&
      (typeof value !== 'object' || value === null)
    ) {
      throw optionError(key, allowsTrue ? 'an options object or a boolean' : 'an options object or false', value);
    }
  }

  const steps: Array<[string, () => Attachment]> = [];
  if (options.idempotency !== false)
    steps.push(['idempotency', () => attachIdempotency(instance, options.idempotency || {})]);
  if (options.rateLimit) {
    const rateLimit: ResilienceRateLimitOptions = options.rateLimit;
    steps.push(['rate-limit', () => attachRateLimit(instance, rateLimitOptions(rateLimit))]);
  }
  if (options.chaos) {
    const chaos = options.chaos;
    steps.push(['chaos', () => attachChaos(instance, chaos)]);
  }
  if (options.retry !== false) steps.push(['retry', () => attachRetry(instance, options.retry || {})]);
  /** The default file sink, when this call made it: nobody else holds it, so eject() closes it. */
  let ownedSink: ReturnType<typeof fileSink> | undefined;
  if (options.deadLetter) {
    const given: DeadLetterOptions = options.deadLetter === true ? {} : options.deadLetter;
    steps.push([
      'dead-letter',
      () => {
        const sink = given.sink ?? (ownedSink = fileSink({ path: DEFAULT_DEAD_LETTER_PATH }));
        return attachDeadLetter(instance, { ...given, sink });
      },
    ]);
  }
  const closeOwnedSink = () => {
    // Its append handle would otherwise stay open until the sink is garbage collected. A write still in
    // flight finishes first (the sink queues close behind it); a failure to close has nobody to report to.
    ownedSink?.close().catch(() => undefined);
    ownedSink = undefined;
  };

  const attached: Attachment[] = [];
  try {
    for (const [, attach] of steps) attached.push(attach());
  } catch (error) {
    // One layer's bad option must not leave the others half-installed.
    for (const attachment of attached) attachment.eject();
    closeOwnedSink();
    throw error;
  }
  return {
    layers: steps.map(([name]) => name),
    eject() {
      for (const attachment of attached) attachment.eject();
      closeOwnedSink();
    },
  };
}
