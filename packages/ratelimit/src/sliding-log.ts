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
  /** Sends still in flight (stamped at their response); their count is bounded by the concurrency. */
  private readonly inFlight = new Set<LogEntry>();
  /**
   * Stamps of finished sends, in the order they were stamped: a queue whose expired head is dropped in
   * amortised O(1), so a request never walks the whole window (which grows with the rate).
   */
  private stamps: number[] = [];
  private head = 0;

  constructor(
    private readonly limit: number,
    private readonly intervalMs: number,
    private readonly marginMs: number,
    private readonly stampAt: StampAt,
    private readonly maxHoldMs: number = 60_000,
  ) {}

  /** The time a send counts from: its grant (`'send'`), or its response, at most `maxHoldMs` after the grant. */
  stampOf(entry: LogEntry): number {
    if (this.stampAt === 'send') return entry.grantedAt;
    const latest = entry.grantedAt + this.maxHoldMs;
    return entry.completedAt === undefined ? latest : Math.min(entry.completedAt, latest);
  }

  /** Grants a send at `now` when fewer than `limit` sends count in the window, else says when to ask again. */
  take(now: number): SlidingLogVerdict {
    if (this.count(now) < this.limit) {
      const entry: LogEntry = { grantedAt: now };
      if (this.stampAt === 'send') this.stamps.push(now);
      else this.inFlight.add(entry);
      return { granted: true, entry };
    }
    const span = this.intervalMs + this.marginMs;
    // Over the limit (the slow path): the oldest sends must leave the window until only limit - 1 remain.
    const counted = [...this.stamps.slice(this.head), ...[...this.inFlight].map((entry) => this.stampOf(entry))].sort(
      (a, b) => a - b,
    );
    return { granted: false, retryAt: counted[counted.length - this.limit] + span };
  }

  /** Marks a send's response as back: from now on it counts from this moment. */
  complete(entry: LogEntry, now: number): void {
    if (entry.completedAt !== undefined) return;
    entry.completedAt = now;
    if (this.stampAt === 'response' && this.inFlight.delete(entry)) this.stamps.push(this.stampOf(entry));
  }

  /** Sends that count in the window ending at `now`. */
  count(now: number): number {
    const span = this.intervalMs + this.marginMs;
    while (this.head < this.stamps.length && this.stamps[this.head] + span <= now) this.head += 1;
    if (this.head > 1024 && this.head * 2 > this.stamps.length) {
      this.stamps = this.stamps.slice(this.head);
      this.head = 0;
    }
    // A send that never answers stops counting once its hold, and then the window, has passed.
    for (const entry of this.inFlight) {
      if (entry.grantedAt + this.maxHoldMs + span <= now) this.inFlight.delete(entry);
    }
    return this.stamps.length - this.head + this.inFlight.size;
  }

  /** True when no send counts in the window: the key's state may be dropped. */
  isIdle(now: number): boolean {
    return this.count(now) === 0;
  }
}
