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
 * The stamps of finished sends, sorted oldest first: a ring buffer of doubles that doubles its capacity when full.
 * Dropping the expired head and adding a stamp are O(1) and allocate nothing once the buffer has grown
 * to the window's size (at most `limit` stamps count at once).
 */
class StampQueue {
  private buffer = new Float64Array(16);
  private start = 0;
  size = 0;

  /**
   * Adds a stamp, keeping the queue sorted. Stamps nearly always arrive in order; one capped at `maxHoldMs`
   * can be older than those before it, and is moved back to its place so the expired head stays in front.
   */
  push(stamp: number): void {
    if (this.size === this.buffer.length) this.grow();
    const buffer = this.buffer;
    const capacity = buffer.length;
    let index = this.size;
    while (index > 0 && buffer[(this.start + index - 1) % capacity] > stamp) {
      buffer[(this.start + index) % capacity] = buffer[(this.start + index - 1) % capacity];
      index -= 1;
    }
    buffer[(this.start + index) % capacity] = stamp;
    this.size += 1;
  }

  /** Drops stamps from the head while their window of `span` has passed at `now`. */
  dropExpired(now: number, span: number): void {
    const buffer = this.buffer;
    while (this.size > 0 && buffer[this.start] + span <= now) {
      this.start = this.start + 1 === buffer.length ? 0 : this.start + 1;
      this.size -= 1;
    }
  }

  toArray(): number[] {
    const values: number[] = [];
    for (let index = 0; index < this.size; index++) values.push(this.buffer[(this.start + index) % this.buffer.length]);
    return values;
  }

  private grow(): void {
    const next = new Float64Array(this.buffer.length * 2);
    for (let index = 0; index < this.size; index++)
      next[index] = this.buffer[(this.start + index) % this.buffer.length];
    this.buffer = next;
    this.start = 0;
  }
}

/** Told when a send's answer is in; see `SlidingLog.grant`. */
export interface SendSettler {
  /** The answer to `entry`'s send is in: stamp it (`SlidingLog.complete`) and let waiters know a slot may be free. */
  settle(entry: LogEntry): void;
}

/**
 * A send in flight, linked into the log's grant-ordered list so leaving it costs no search. It is also the
 * send's permit: `complete()` tells its settler, so granting a send allocates this one object only.
 */
class PendingSend implements LogEntry {
  // Declared, not initialised as class fields: a field initialiser is a function of its own that every send
  // would run before the constructor; the constructor sets every field, in one order, so all share a shape.
  declare readonly grantedAt: number;
  declare completedAt: number | undefined;
  declare older: PendingSend | undefined;
  declare newer: PendingSend | undefined;
  declare linked: boolean;
  declare private readonly settler: SendSettler | undefined;

  constructor(grantedAt: number, settler: SendSettler | undefined) {
    this.grantedAt = grantedAt;
    this.settler = settler;
    this.completedAt = undefined;
    this.older = undefined;
    this.newer = undefined;
    this.linked = true;
  }

  complete(): void {
    this.settler?.settle(this);
  }
}

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
  /**
   * Sends still in flight (stamped at their response), oldest first: a doubly linked list, so a send
   * leaves it in O(1) and the expiry check looks at the oldest only. Its length is bounded by the concurrency.
   */
  private oldestPending?: PendingSend;
  private newestPending?: PendingSend;
  private pendingCount = 0;
  /** Stamps of finished sends, oldest first, so a request never walks the whole window. */
  private readonly stamps = new StampQueue();

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

  /**
   * Grants a send at `now` when fewer than `limit` sends count in the window: its entry, whose `complete()`
   * calls `settler.settle(entry)` (stamped at the response; stamped at the send it has no `complete`).
   * `undefined` when the window is full; `take` says when to ask again.
   */
  grant(now: number, settler?: SendSettler): LogEntry | undefined {
    if (this.count(now) >= this.limit) return undefined;
    if (this.stampAt === 'send') {
      this.stamps.push(now);
      return { grantedAt: now };
    }
    const entry = new PendingSend(now, settler);
    // Linked in at the newest end (written out: this runs on every send).
    entry.older = this.newestPending;
    if (this.newestPending) this.newestPending.newer = entry;
    else this.oldestPending = entry;
    this.newestPending = entry;
    this.pendingCount += 1;
    return entry;
  }

  /** Grants a send at `now` when fewer than `limit` sends count in the window, else says when to ask again. */
  take(now: number): SlidingLogVerdict {
    const entry = this.grant(now);
    if (entry !== undefined) return { granted: true, entry };
    return { granted: false, retryAt: this.nextGrantAt(now) };
  }

  /** The earliest time a send could be granted, as the log stands at `now` (`now` itself when one is free). */
  nextGrantAt(now: number): number {
    if (this.count(now) < this.limit) return now;
    const span = this.intervalMs + this.marginMs;
    // Over the limit (the slow path): the oldest sends must leave the window until only limit - 1 remain.
    const counted = this.stamps.toArray();
    for (let entry = this.oldestPending; entry; entry = entry.newer) counted.push(this.stampOf(entry));
    counted.sort((a, b) => a - b);
    return counted[counted.length - this.limit] + span;
  }

  /** Marks a send's response as back: from now on it counts from this moment. */
  complete(entry: LogEntry, now: number): void {
    if (entry.completedAt !== undefined) return;
    entry.completedAt = now;
    if (entry instanceof PendingSend && entry.linked) {
      this.unlink(entry);
      // `stampOf` for a send answered at `now` (written out: this runs on every answer).
      const latest = entry.grantedAt + this.maxHoldMs;
      this.stamps.push(now < latest ? now : latest);
    }
  }

  /** Sends that count in the window ending at `now`. */
  count(now: number): number {
    const span = this.intervalMs + this.marginMs;
    this.stamps.dropExpired(now, span);
    // A send that never answers stops counting once its hold, and then the window, has passed. The list
    // keeps grant order, so only its oldest entries can have expired.
    while (this.oldestPending && this.oldestPending.grantedAt + this.maxHoldMs + span <= now) {
      this.unlink(this.oldestPending);
    }
    return this.stamps.size + this.pendingCount;
  }

  /** True when no send counts in the window: the key's state may be dropped. */
  isIdle(now: number): boolean {
    return this.count(now) === 0;
  }

  private unlink(entry: PendingSend): void {
    entry.linked = false;
    if (entry.older) entry.older.newer = entry.newer;
    else this.oldestPending = entry.newer;
    if (entry.newer) entry.newer.older = entry.older;
    else this.newestPending = entry.older;
    entry.older = entry.newer = undefined;
    this.pendingCount -= 1;
  }
}
