/** A send granted, or the start (epoch ms) of the next window. */
export type FixedWindowVerdict = { granted: true } | { granted: false; retryAt: number };

/**
 * A fixed window for one key: at most `limit` sends per window, windows aligned to the epoch
 * (`floor(now / intervalMs)`), as Upstash's `fixedWindow` and most counting servers align them.
 */
export class FixedWindow {
  private windowStart = -Infinity;
  private used = 0;

  constructor(
    private readonly limit: number,
    private readonly intervalMs: number,
  ) {}

  private roll(now: number): void {
    const start = Math.floor(now / this.intervalMs) * this.intervalMs;
    if (start !== this.windowStart) {
      this.windowStart = start;
      this.used = 0;
    }
  }

  /** Counts a send in the window that holds `now` if it has room. */
  take(now: number): FixedWindowVerdict {
    this.roll(now);
    if (this.used < this.limit) {
      this.used += 1;
      return { granted: true };
    }
    return { granted: false, retryAt: this.windowStart + this.intervalMs };
  }

  /** Sends counted in the window that holds `now`. */
  count(now: number): number {
    this.roll(now);
    return this.used;
  }

  /** True when the current window counts nothing, so the key's state can be dropped. */
  isIdle(now: number): boolean {
    return this.count(now) === 0;
  }
}
