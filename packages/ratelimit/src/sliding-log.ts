/** When a send starts to count: when its answer comes back (strict) or when it left the line. */
export type StampAt = 'response' | 'send';

/** One send in the log. */
export interface LogEntry {
  /** When the send left the line (epoch ms). */
  grantedAt: number;
  /** When its answer (or error) came back; unset while in flight. */
  completedAt?: number;
}

/** A send granted (its `entry`, to `complete` when its answer is in), or the earliest time worth asking again. */
export type SlidingLogVerdict = { granted: true; entry: LogEntry } | { granted: false; retryAt: number };

/**
 * The sliding log for one key: never more than `limit` sends in any window of `intervalMs + marginMs`.
 *
 * The limiter cannot see the moment a request reaches the server; it sees when the request left the
 * line and when the answer returned, and the arrival lies between the two. A request on a cold
 * connection (a new TCP or TLS handshake, a cold process) arrives tens to hundreds of milliseconds after
 * it left, while the next, warm burst arrives on time, so a log stamped at release lets the server see
 * more than `limit` in one of its windows. With `stampAt: 'response'` each send is stamped with the
 * time its answer came back, the latest moment the server can have counted it, and a send in flight
 * holds its place meanwhile. An answer slower than `maxHoldMs` is counted from `maxHoldMs` after the
 * release, so a request that never answers cannot block its key for ever.
 */
export class SlidingLog {
  private entries: LogEntry[] = [];

  constructor(
    private readonly limit: number,
    private readonly intervalMs: number,
    private readonly marginMs: number,
    private readonly stampAt: StampAt,
    private readonly maxHoldMs: number = 60_000,
  ) {}

  /** The moment a send counts from (provisional while it is in flight). */
  stampOf(entry: LogEntry): number {
    if (this.stampAt === 'send') return entry.grantedAt;
    const latest = entry.grantedAt + this.maxHoldMs;
    return entry.completedAt === undefined ? latest : Math.min(entry.completedAt, latest);
  }

  /** Counts a send at `now` if fewer than `limit` are in the window; otherwise says when the window will have room. */
  take(now: number): SlidingLogVerdict {
    const span = this.intervalMs + this.marginMs;
    this.entries = this.entries.filter((entry) => this.stampOf(entry) + span > now);
    if (this.entries.length < this.limit) {
      const entry: LogEntry = { grantedAt: now };
      this.entries.push(entry);
      return { granted: true, entry };
    }
    const stamps = this.entries.map((entry) => this.stampOf(entry)).sort((a, b) => a - b);
    // The oldest sends must leave the window until only limit - 1 remain.
    return { granted: false, retryAt: stamps[this.entries.length - this.limit] + span };
  }

  /** Records that `entry`'s answer came back at `now`, fixing its stamp with `stampAt: 'response'`. Idempotent. */
  complete(entry: LogEntry, now: number): void {
    if (entry.completedAt === undefined) entry.completedAt = now;
  }

  /** Sends still counted at `now`. */
  count(now: number): number {
    const span = this.intervalMs + this.marginMs;
    return this.entries.filter((entry) => this.stampOf(entry) + span > now).length;
  }

  /** True when no send counts any more, so the key's state can be dropped. */
  isIdle(now: number): boolean {
    return this.count(now) === 0;
  }
}
