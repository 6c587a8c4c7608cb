import { canceledError, RateLimitedError, type Clock } from '@axios-resilience/core';
import type { AcquireOptions } from './limiter';

/**
 * Sleeps longer than this are taken in two steps: all but `FINAL_STEP_SHARE` of the time, then the rest.
 * Some machines (virtual ones, CPU-throttled containers) fire a long timer late by a share of its length:
 * about 2 % was measured on one, 20 ms on a one-second window, and a line that sleeps until its window
 * opens would lose that on every window. The short final step is late by a share of a short time only.
 */
const SPLIT_SLEEPS_LONGER_THAN_MS = 100;
/** The share of a long sleep left for its final step: more than the lateness it absorbs. */
const FINAL_STEP_SHARE = 0.05;

/** The request at the head of a line, as a gate sees it. */
export interface LineHead {
  signal?: AbortSignal | null;
  /** Epoch ms past which this request gives up waiting. */
  deadline: number;
}

/** A gate's verdict: a token now, or the earliest time worth asking again (`Infinity`: when woken). */
export type GateAnswer<P> = { granted: true; permit: P } | { granted: false; retryAt: number };

/** Where the tokens come from. A line asks it on behalf of its head only, so asks for one key never overlap. */
export interface Gate<P> {
  tryTake(key: string, head: LineHead): GateAnswer<P> | Promise<GateAnswer<P>>;
  /** A token granted while its requester left the line (aborted or timed out) and nobody else waits. */
  discard(key: string, permit: P): void;
}

interface Waiter<P> extends LineHead {
  /** Set when the request may not wait at all (`maxWaitMs` 0 or `maxQueue` 0): makes the error for a refusal. */
  cannotWait?: () => RateLimitedError;
  /** Settles the request's promise and drops its timers and listeners. */
  grant(permit: P): void;
  fail(error: unknown): void;
}

interface Line<P> {
  waiters: Waiter<P>[];
  /** A gate call is in progress for this key. */
  busy: boolean;
  timer: unknown;
  hasTimer: boolean;
}

function isPromiseLike<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function timeoutError(key: string, maxWaitMs: number): RateLimitedError {
  return new RateLimitedError(`No rate-limit token for "${key}" within ${maxWaitMs} ms`, key);
}

function queueFullError(key: string, maxQueue: number): RateLimitedError {
  return new RateLimitedError(`The rate-limit line for "${key}" is full (maxQueue ${maxQueue})`, key);
}

/**
 * First-in, first-out lines of requests waiting for tokens, one line per key. Only the head asks the
 * gate; when the gate says "not before T" the line sleeps until T (or until `wake`). A request that
 * aborts or runs out of patience leaves at once and, if a token was on its way to it, the token goes to
 * the next in line.
 */
export class WaitLine<P> {
  private readonly lines = new Map<string, Line<P>>();
  /**
   * True while no key has a line: nobody waits anywhere. A field, not a method, so the limiter's per-request
   * checks ("does anyone wait on this key?", "wake the key") cost nothing in the common case.
   */
  empty = true;

  constructor(
    private readonly gate: Gate<P>,
    private readonly clock: Clock,
  ) {}

  acquire(key: string, options: AcquireOptions): Promise<P> {
    const { signal, maxWaitMs, maxQueue } = options;
    if (signal?.aborted) return Promise.reject(canceledError(signal));
    const existing = this.lines.get(key);
    const waiting = existing?.waiters.length ?? 0;
    if (waiting > 0 && maxQueue !== undefined && waiting >= maxQueue) {
      return Promise.reject(queueFullError(key, maxQueue));
    }
    if (waiting > 0 && maxWaitMs <= 0) return Promise.reject(timeoutError(key, maxWaitMs));
    const line: Line<P> = existing ?? { waiters: [], busy: false, timer: undefined, hasTimer: false };
    if (!existing) {
      this.lines.set(key, line);
      this.empty = false;
    }

    return new Promise<P>((resolve, reject) => {
      let deadlineTimer: unknown;
      let settled = false;
      const settle = () => {
        settled = true;
        if (deadlineTimer !== undefined) this.clock.clearTimeout(deadlineTimer);
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter<P> = {
        signal,
        deadline: this.clock.now() + maxWaitMs,
        grant: (permit) => {
          settle();
          resolve(permit);
        },
        fail: (error) => {
          settle();
          reject(error);
        },
      };
      if (maxWaitMs <= 0) waiter.cannotWait = () => timeoutError(key, maxWaitMs);
      else if (maxQueue === 0) waiter.cannotWait = () => queueFullError(key, 0);
      const leave = (error: unknown) => {
        if (settled) return;
        this.remove(key, line, waiter);
        waiter.fail(error);
      };
      const onAbort = () => leave(canceledError(signal));
      line.waiters.push(waiter);
      // A synchronous gate settles the common case right here, without arming a timer or a listener.
      void this.pump(key, line);
      if (settled) return;
      signal?.addEventListener('abort', onAbort, { once: true });
      if (maxWaitMs > 0) {
        deadlineTimer = this.clock.setTimeout(() => leave(timeoutError(key, maxWaitMs)), maxWaitMs);
      }
    });
  }

  /** Something changed for `key` (a token came back, a pause ended early): ask the gate again now. */
  wake(key: string): void {
    const line = this.lines.get(key);
    if (line && !line.busy && line.waiters.length > 0) void this.pump(key, line);
  }

  /** How many requests wait on `key` (for diagnostics and tests). */
  waiting(key: string): number {
    return this.lines.get(key)?.waiters.length ?? 0;
  }

  private remove(key: string, line: Line<P>, waiter: Waiter<P>): void {
    const index = line.waiters.indexOf(waiter);
    if (index >= 0) line.waiters.splice(index, 1);
    this.dropIfIdle(key, line);
  }

  private dropIfIdle(key: string, line: Line<P>): void {
    if (line.waiters.length > 0 || line.busy) return;
    this.clearTimer(line);
    if (this.lines.get(key) === line) {
      this.lines.delete(key);
      this.empty = this.lines.size === 0;
    }
  }

  private clearTimer(line: Line<P>): void {
    if (!line.hasTimer) return;
    this.clock.clearTimeout(line.timer);
    line.hasTimer = false;
  }

  private schedule(key: string, line: Line<P>, retryAt: number): void {
    this.clearTimer(line);
    if (retryAt === Infinity) return;
    this.sleepUntil(key, line, retryAt);
  }

  /**
   * Sleeps until `wakeAt`, then asks the gate. A long sleep is taken in two steps (see
   * `SPLIT_SLEEPS_LONGER_THAN_MS`): waking before `wakeAt` only arms the rest, and the gate, which may be a
   * round trip to a store, is asked once.
   */
  private sleepUntil(key: string, line: Line<P>, wakeAt: number): void {
    const remaining = Math.max(1, Math.ceil(wakeAt - this.clock.now()));
    const step = remaining > SPLIT_SLEEPS_LONGER_THAN_MS ? Math.floor(remaining * (1 - FINAL_STEP_SHARE)) : remaining;
    line.hasTimer = true;
    line.timer = this.clock.setTimeout(() => {
      line.hasTimer = false;
      if (step < remaining && this.clock.now() < wakeAt) this.sleepUntil(key, line, wakeAt);
      else void this.pump(key, line);
    }, step);
  }

  /** Serves the line until it is empty or the gate refuses. Never rejects. */
  private async pump(key: string, line: Line<P>): Promise<void> {
    if (line.busy) return;
    while (line.waiters.length > 0) {
      this.clearTimer(line);
      const head = line.waiters[0];
      let answer: GateAnswer<P>;
      line.busy = true;
      try {
        const pending = this.gate.tryTake(key, head);
        answer = isPromiseLike(pending) ? await pending : pending;
      } catch (error) {
        line.busy = false;
        // The gate's failure (a store policy saying "reject") belongs to the request it was asked for.
        if (line.waiters[0] === head) {
          line.waiters.shift();
          head.fail(error);
        }
        continue;
      }
      line.busy = false;
      if (answer.granted) {
        const taker = line.waiters.shift();
        if (taker) taker.grant(answer.permit);
        else this.gate.discard(key, answer.permit);
        continue;
      }
      const current = line.waiters[0];
      if (current?.cannotWait) {
        line.waiters.shift();
        current.fail(current.cannotWait());
        continue;
      }
      if (line.waiters.length > 0) this.schedule(key, line, answer.retryAt);
      break;
    }
    this.dropIfIdle(key, line);
  }
}
