/** A token granted, or the epoch-ms time at which the next whole token will have dripped in. */
export type TokenBucketVerdict = { granted: true } | { granted: false; retryAt: number };

/**
 * A token bucket for one key: it holds up to `burst` tokens, starts full, and refills `limit` tokens per
 * `intervalMs`, continuously. Counted in integer units (one token is `intervalMs` units, `limit` units
 * drip in per millisecond) so no rounding error accumulates.
 */
export class TokenBucket {
  private units: number;
  private updatedAt: number;
  private readonly capacityUnits: number;

  constructor(
    private readonly limit: number,
    private readonly intervalMs: number,
    burst: number,
    now: number,
  ) {
    this.capacityUnits = burst * intervalMs;
    this.units = this.capacityUnits;
    this.updatedAt = now;
  }

  private refill(now: number): void {
    if (now > this.updatedAt) {
      this.units = Math.min(this.capacityUnits, this.units + (now - this.updatedAt) * this.limit);
    }
    this.updatedAt = Math.max(this.updatedAt, now);
  }

  /** Takes one token at `now` if a whole one is there. */
  take(now: number): TokenBucketVerdict {
    this.refill(now);
    if (this.units >= this.intervalMs) {
      this.units -= this.intervalMs;
      return { granted: true };
    }
    return { granted: false, retryAt: now + Math.ceil((this.intervalMs - this.units) / this.limit) };
  }

  /** Whole tokens available at `now`. */
  tokens(now: number): number {
    this.refill(now);
    return Math.floor(this.units / this.intervalMs);
  }

  /** True when the bucket is full again, as a fresh one would be, so the key's state can be dropped. */
  isIdle(now: number): boolean {
    this.refill(now);
    return this.units >= this.capacityUnits;
  }
}
