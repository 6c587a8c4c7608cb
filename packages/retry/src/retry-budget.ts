import { systemClock, type Clock } from '@axios-resilience/core';

/** The retry budget's settings. */
export interface RetryBudgetOptions {
  /**
   * Retries allowed per second whatever the traffic, and the tokens the bucket starts with.
   * @default 10
   */
  minPerSecond?: number;
  /**
   * Fraction of a retry token each first attempt earns: 0.2 lets retries add at most 20 % on top of
   * the traffic in a sustained outage.
   * @default 0.2
   */
  ratio?: number;
  /**
   * Most tokens the bucket holds, so a long healthy spell cannot bank an unbounded burst of retries.
   * @default 10 * minPerSecond (100)
   */
  maxTokens?: number;
}

/**
 * A token bucket shared by all requests of one instance: an outage cannot turn into a retry storm,
 * since retries can only spend what first attempts and the per-second floor have earned.
 */
export class RetryBudget {
  private tokens: number;
  private refilledAt: number;
  /**
   * First attempts not yet credited. Crediting is deferred to the next read: every credit is positive, so
   * adding them at once and capping once gives exactly the same balance as capping after each, and a
   * successful request then costs a counter increment instead of a clock read.
   */
  private uncredited = 0;

  constructor(
    readonly minPerSecond: number,
    readonly ratio: number,
    readonly maxTokens: number,
    private readonly clock: Clock = systemClock,
  ) {
    this.tokens = Math.min(minPerSecond, maxTokens);
    this.refilledAt = clock.now();
  }

  /** Credit earned by a first attempt. */
  recordFirstAttempt(): void {
    this.uncredited += 1;
  }

  /** Takes one token for a retry; false when none is left. */
  tryWithdraw(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Tokens available now (fractional). */
  available(): number {
    this.refill();
    return this.tokens;
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsedMs = Math.max(0, now - this.refilledAt);
    if (elapsedMs > 0) this.refilledAt = now;
    const earned = (elapsedMs / 1000) * this.minPerSecond + this.uncredited * this.ratio;
    this.uncredited = 0;
    if (earned > 0) this.tokens = Math.min(this.maxTokens, this.tokens + earned);
  }
}
