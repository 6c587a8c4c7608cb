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

  isIdle(now: number): boolean {
    this.refill(now);
    return this.units >= this.capacityUnits;
  }
}
