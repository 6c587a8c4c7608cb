import {
  FixedWindow,
  memoryLimiter,
  SlidingLog,
  TokenBucket,
  type LogEntry,
  type RateLimitPermit,
} from '@axios-resilience/ratelimit';

const START = Date.UTC(2030, 0, 1, 0, 0, 0); // a whole second, so epoch-aligned windows start at START

describe('SlidingLog (pure)', () => {
  it('grants `limit` sends, then reopens one slot per send once it is intervalMs + marginMs old', () => {
    const log = new SlidingLog(3, 1000, 25, 'send');
    expect(log.take(START).granted).toBe(true);
    expect(log.take(START + 100).granted).toBe(true);
    expect(log.take(START + 200).granted).toBe(true);
    expect(log.take(START + 300)).toEqual({ granted: false, retryAt: START + 1025 });
    expect(log.take(START + 1024).granted).toBe(false);
    expect(log.take(START + 1025).granted).toBe(true);
    expect(log.take(START + 1026)).toEqual({ granted: false, retryAt: START + 1125 });
  });

  it('never allows more than `limit` in any window, whatever the arrival pattern', () => {
    const log = new SlidingLog(5, 1000, 0, 'send');
    const granted: number[] = [];
    for (let t = START; t < START + 10_000; t += 37) if (log.take(t).granted) granted.push(t);
    for (const at of granted) {
      expect(granted.filter((other) => other > at - 1000 && other <= at).length).toBeLessThanOrEqual(5);
    }
    expect(granted.length).toBeGreaterThanOrEqual(45);
  });

  it("with stampAt 'response', counts a send from when its answer came back and holds the place while in flight", () => {
    const log = new SlidingLog(1, 1000, 25, 'response', 5000);
    const first = log.take(START);
    if (!first.granted) throw new Error('expected a token');
    // In flight: provisionally counted from maxHoldMs after release.
    expect(log.take(START + 10)).toEqual({ granted: false, retryAt: START + 6025 });
    log.complete(first.entry, START + 300);
    expect(log.take(START + 1024)).toEqual({ granted: false, retryAt: START + 1325 });
    expect(log.take(START + 1325).granted).toBe(true);
  });

  it('counts a slow answer from its completion, and one slower than maxHoldMs from maxHoldMs after release', () => {
    const log = new SlidingLog(1, 1000, 25, 'response', 3000);
    const slow = log.take(START);
    if (!slow.granted) throw new Error('expected a token');
    log.complete(slow.entry, START + 2500);
    expect(log.stampOf(slow.entry)).toBe(START + 2500);
    const hung = log.take(START + 3525);
    if (!hung.granted) throw new Error('expected a token');
    expect(log.take(START + 3526)).toEqual({ granted: false, retryAt: START + 3525 + 3000 + 1025 });
    expect(log.take(START + 3525 + 4025).granted).toBe(true);
  });
});

describe('SlidingLog bookkeeping', () => {
  it('answers completed out of order leave the in-flight list and each counts from its own answer', () => {
    const log = new SlidingLog(3, 1000, 0, 'response', 60_000);
    const entries = [log.take(START), log.take(START + 1), log.take(START + 2)].map((verdict) => {
      if (!verdict.granted) throw new Error('expected a token');
      return verdict.entry;
    });
    log.complete(entries[1], START + 100);
    log.complete(entries[2], START + 50);
    log.complete(entries[1], START + 900); // a second completion changes nothing
    expect(log.count(START + 1049)).toBe(3);
    // The earliest answer (50 ms) frees the first slot, though it was stamped after the one at 100 ms.
    expect(log.take(START + 1049)).toEqual({ granted: false, retryAt: START + 1050 });
    expect(log.count(START + 1050)).toBe(2);
    expect(log.count(START + 1100)).toBe(1);
    log.complete(entries[0], START + 1200);
    expect(log.count(START + 2199)).toBe(1);
    expect(log.count(START + 2200)).toBe(0);
    expect(log.isIdle(START + 2200)).toBe(true);
  });

  it('an answer that comes back after maxHoldMs counts from maxHoldMs after its grant, not from its arrival', () => {
    const log = new SlidingLog(1, 1000, 0, 'response', 3000);
    const late = log.grant(START);
    if (!late) throw new Error('expected a token');
    log.complete(late, START + 5000);
    expect(log.stampOf(late)).toBe(START + 3000);
    // Counted from START + 3000, so its window has passed by START + 4000, and so by the time it came back.
    expect(log.take(START + 5000).granted).toBe(true);
  });

  it("keeps an exact count over many windows, far past the stamp queue's first capacity", () => {
    const log = new SlidingLog(100, 1000, 0, 'response', 60_000);
    const granted: number[] = [];
    // 50 in flight at a time, answered 30 ms after their grant, over ten seconds.
    const pending: Array<{ at: number; entry: Parameters<SlidingLog['complete']>[0] }> = [];
    for (let t = START; t < START + 10_000; t += 5) {
      while (pending.length > 0 && pending[0].at <= t) {
        const answered = pending.shift()!;
        log.complete(answered.entry, answered.at);
      }
      const verdict = log.take(t);
      if (verdict.granted) {
        granted.push(t + 30);
        pending.push({ at: t + 30, entry: verdict.entry });
      }
    }
    expect(granted.length).toBeGreaterThan(900);
    // Never more than 100 counted (answers stamped when they came back) in any window of one second.
    for (const at of granted) {
      expect(granted.filter((other) => other > at - 1000 && other <= at).length).toBeLessThanOrEqual(100);
    }
  });
});

describe('SlidingLog.grant (the fast path)', () => {
  it("grants what take grants, refuses what take refuses, and nextGrantAt is take's retryAt", () => {
    const byGrant = new SlidingLog(2, 1000, 25, 'response', 5000);
    const byTake = new SlidingLog(2, 1000, 25, 'response', 5000);
    const settled: unknown[] = [];
    const settler = { settle: (entry: unknown) => settled.push(entry) };
    for (const at of [START, START + 10, START + 20]) {
      const entry = byGrant.grant(at, settler);
      const verdict = byTake.take(at);
      expect(entry !== undefined).toBe(verdict.granted);
      if (!verdict.granted) expect(byGrant.nextGrantAt(at)).toBe(verdict.retryAt);
    }
    // Both in flight, each held from its grant for maxHoldMs: the first frees a slot 5 s + 1025 ms after it left.
    expect(byGrant.nextGrantAt(START + 20)).toBe(START + 6025);
  });

  it('stamped at the response, the entry is the permit: complete() calls the settler with it, once per call', () => {
    const log = new SlidingLog(1, 1000, 0, 'response', 5000);
    const settled: unknown[] = [];
    const settler = {
      settle(completed: LogEntry) {
        settled.push(completed);
        log.complete(completed, START + 100);
      },
    };
    const entry = log.grant(START, settler) as LogEntry & RateLimitPermit;
    entry.complete();
    entry.complete();
    expect(settled).toEqual([entry, entry]);
    expect(log.stampOf(entry)).toBe(START + 100);
    // Without a settler (a log used on its own), complete() does nothing and the entry still counts.
    const alone = log.grant(START + 2000) as LogEntry & RateLimitPermit;
    alone.complete();
    expect(log.count(START + 2000)).toBe(1);
    // Stamped at the send, an entry is plain data: there is nothing to complete.
    expect('complete' in (new SlidingLog(1, 1000, 0, 'send').grant(START) as object)).toBe(false);
  });
});

describe('TokenBucket (pure)', () => {
  it('starts full with `burst` tokens and refills `limit` per intervalMs continuously', () => {
    const bucket = new TokenBucket(2, 1000, 5, START);
    for (let i = 0; i < 5; i += 1) expect(bucket.take(START).granted).toBe(true);
    expect(bucket.take(START)).toEqual({ granted: false, retryAt: START + 500 });
    expect(bucket.take(START + 499).granted).toBe(false);
    expect(bucket.take(START + 500).granted).toBe(true);
    expect(bucket.tokens(START + 500)).toBe(0);
    expect(bucket.tokens(START + 2000)).toBe(3);
    expect(bucket.tokens(START + 60_000)).toBe(5);
  });

  it('refills exactly, without rounding drift, over many small steps', () => {
    // 3 per second is a third of a token per millisecond step: fractions must add up, not round away.
    const bucket = new TokenBucket(3, 1000, 2, START);
    let granted = 0;
    for (let t = START; t <= START + 10_000; t += 1) if (bucket.take(t).granted) granted += 1;
    // The 2 tokens of the full bucket, then 3 per second for 10 seconds.
    expect(granted).toBe(32);
  });
});

describe('FixedWindow (pure)', () => {
  it('allows `limit` per epoch-aligned window and reopens at the window edge', () => {
    const window = new FixedWindow(2, 1000);
    expect(window.take(START + 900).granted).toBe(true);
    expect(window.take(START + 950).granted).toBe(true);
    expect(window.take(START + 999)).toEqual({ granted: false, retryAt: START + 1000 });
    // The edge: a new window, so a burst can put 2 x limit within a few milliseconds.
    expect(window.take(START + 1000).granted).toBe(true);
    expect(window.take(START + 1001).granted).toBe(true);
    expect(window.take(START + 1002)).toEqual({ granted: false, retryAt: START + 2000 });
    expect(window.count(START + 1500)).toBe(2);
    expect(window.count(START + 2000)).toBe(0);
  });
});

describe('memoryLimiter with fake timers', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: START });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  /** Fires `count` acquires at once and records when each was granted. */
  function burst(
    limiter: ReturnType<typeof memoryLimiter>,
    count: number,
    onPermit?: (permit: RateLimitPermit) => void,
  ) {
    const grantedAt: number[] = [];
    const all = Array.from({ length: count }, (_, index) =>
      limiter.acquire('k', { maxWaitMs: 60_000 }).then((permit) => {
        grantedAt[index] = Date.now() - START;
        if (permit) onPermit?.(permit);
      }),
    );
    return { grantedAt, all: Promise.all(all) };
  }

  it("sliding-log ('send'): grants `limit` at once, then one per slot as each leaves the window", async () => {
    const limiter = memoryLimiter({ limit: 3, intervalMs: 1000, stampAt: 'send' });
    const { grantedAt, all } = burst(limiter, 7);
    await jest.advanceTimersByTimeAsync(5000);
    await all;
    expect(grantedAt).toEqual([0, 0, 0, 1025, 1025, 1025, 2050]);
  });

  it("sliding-log ('response', the default): the next slot opens a window after the answer came back", async () => {
    const limiter = memoryLimiter({ limit: 2, intervalMs: 1000 });
    const permits: RateLimitPermit[] = [];
    const { grantedAt, all } = burst(limiter, 4, (permit) => permits.push(permit));
    await jest.advanceTimersByTimeAsync(0);
    expect(grantedAt.filter((at) => at !== undefined)).toEqual([0, 0]);
    await jest.advanceTimersByTimeAsync(40);
    permits[0].complete();
    await jest.advanceTimersByTimeAsync(80);
    permits[1].complete();
    await jest.advanceTimersByTimeAsync(3000);
    await all;
    expect(grantedAt).toEqual([0, 0, 40 + 1005, 120 + 1005]);
  });

  it('token-bucket: spends the burst at once, then refills at limit per intervalMs', async () => {
    const limiter = memoryLimiter({ limit: 2, intervalMs: 1000, algorithm: 'token-bucket', burst: 4 });
    const { grantedAt, all } = burst(limiter, 7);
    await jest.advanceTimersByTimeAsync(5000);
    await all;
    expect(grantedAt).toEqual([0, 0, 0, 0, 500, 1000, 1500]);
  });

  it('fixed-window: `limit` per epoch-aligned window, the rest at the next edges', async () => {
    jest.setSystemTime(START + 700);
    const limiter = memoryLimiter({ limit: 2, intervalMs: 1000, algorithm: 'fixed-window' });
    const { grantedAt, all } = burst(limiter, 5);
    await jest.advanceTimersByTimeAsync(5000);
    await all;
    expect(grantedAt).toEqual([700, 700, 1000, 1000, 2000]);
  });

  it.each(['sliding-log', 'token-bucket', 'fixed-window'] as const)(
    'tryAcquire (%s) grants the budget, then nothing until it is renewed',
    (algorithm) => {
      const limiter = memoryLimiter({ limit: 3, intervalMs: 1000, algorithm });
      const grantedAt = (at: number) => {
        jest.setSystemTime(at);
        const permits = Array.from({ length: 5 }, () => limiter.tryAcquire('k')).filter(
          (permit) => permit !== undefined,
        );
        // Answered at once, so a send stamped at its response counts from now.
        for (const permit of permits) permit.complete();
        return permits.length;
      };
      expect(grantedAt(START + 10)).toBe(3);
      expect(grantedAt(START + 200)).toBe(0);
      expect(grantedAt(START + 1100)).toBe(3);
    },
  );

  it('tryAcquire grants at once when a token is free, and never ahead of a request already waiting', async () => {
    const limiter = memoryLimiter({ limit: 1, intervalMs: 1000, stampAt: 'send' });
    expect(limiter.tryAcquire('k')).toBeDefined();
    expect(limiter.tryAcquire('k')).toBeUndefined();
    let waiterGranted = false;
    const waiter = limiter.acquire('k', { maxWaitMs: 10_000 }).then(() => (waiterGranted = true));
    await jest.advanceTimersByTimeAsync(0);
    expect(limiter.waiting('k')).toBe(1);
    // A token is free again (1000 ms + the 25 ms margin), but the waiter's timer has not fired yet.
    jest.setSystemTime(START + 1025);
    expect(limiter.tryAcquire('k')).toBeUndefined();
    expect(waiterGranted).toBe(false);
    await jest.advanceTimersByTimeAsync(1100);
    await waiter;
    expect(waiterGranted).toBe(true);
    expect(limiter.tryAcquire('other')).toBeDefined();
  });

  it('tryAcquire takes nothing from a paused key', () => {
    const limiter = memoryLimiter({ limit: 10, intervalMs: 1000 });
    limiter.pause('k', START + 500);
    expect(limiter.tryAcquire('k')).toBeUndefined();
    jest.setSystemTime(START + 500);
    expect(limiter.tryAcquire('k')).toBeDefined();
  });

  it('keeps a separate budget per key', async () => {
    const limiter = memoryLimiter({ limit: 1, intervalMs: 1000, stampAt: 'send' });
    await limiter.acquire('a', { maxWaitMs: 0 });
    await expect(limiter.acquire('b', { maxWaitMs: 0 })).resolves.toBeDefined();
    await expect(limiter.acquire('a', { maxWaitMs: 0 })).rejects.toMatchObject({ code: 'ERR_RATE_LIMITED', key: 'a' });
  });

  it('pause(key, until) grants nothing for that key until then, and a shorter pause does not shorten it', async () => {
    const limiter = memoryLimiter({ limit: 10, intervalMs: 1000 });
    limiter.pause('k', START + 2000);
    limiter.pause('k', START + 500);
    expect(limiter.pausedUntil('k')).toBe(START + 2000);
    let grantedAt: number | undefined;
    void limiter.acquire('k', { maxWaitMs: 10_000 }).then(() => (grantedAt = Date.now() - START));
    await limiter.acquire('other', { maxWaitMs: 0 });
    await jest.advanceTimersByTimeAsync(1999);
    expect(grantedAt).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1);
    expect(grantedAt).toBe(2000);
    expect(limiter.pausedUntil('k')).toBeUndefined();
  });
});
