import type { Clock } from '@axios-resilience/core';
import { RetryBudget } from '@axios-resilience/retry';

/** A clock that moves only when told. */
function manualClock(start = 1_000_000) {
  let now = start;
  const clock: Clock = { now: () => now, setTimeout: () => undefined, clearTimeout: () => undefined };
  return { clock, advance: (ms: number) => void (now += ms) };
}

describe('RetryBudget', () => {
  it('starts with minPerSecond tokens and spends one per retry', () => {
    const { clock } = manualClock();
    const budget = new RetryBudget(3, 0.2, 30, clock);
    expect([budget.tryWithdraw(), budget.tryWithdraw(), budget.tryWithdraw(), budget.tryWithdraw()]).toEqual([
      true,
      true,
      true,
      false,
    ]);
  });

  it('credits ratio of a token per first attempt, and refills minPerSecond per second', () => {
    const { clock, advance } = manualClock();
    const budget = new RetryBudget(2, 0.25, 100, clock);
    budget.tryWithdraw();
    budget.tryWithdraw();
    for (let index = 0; index < 4; index++) budget.recordFirstAttempt();
    expect(budget.available()).toBeCloseTo(1, 10);
    advance(500);
    expect(budget.available()).toBeCloseTo(2, 10);
    expect(budget.tryWithdraw()).toBe(true);
    expect(budget.tryWithdraw()).toBe(true);
    expect(budget.tryWithdraw()).toBe(false);
  });

  it('never holds more than maxTokens, however many first attempts and seconds pass', () => {
    const { clock, advance } = manualClock();
    const budget = new RetryBudget(10, 0.2, 12, clock);
    for (let index = 0; index < 1_000; index++) budget.recordFirstAttempt();
    advance(60_000);
    expect(budget.available()).toBe(12);
    for (let index = 0; index < 12; index++) expect(budget.tryWithdraw()).toBe(true);
    expect(budget.tryWithdraw()).toBe(false);
  });

  it('gains nothing when the clock steps back', () => {
    const { clock, advance } = manualClock();
    const budget = new RetryBudget(1, 0.5, 10, clock);
    budget.tryWithdraw();
    advance(-5_000);
    expect(budget.available()).toBe(0);
    advance(5_000);
    expect(budget.available()).toBe(0);
    advance(1_000);
    expect(budget.available()).toBeCloseTo(1, 10);
  });
});
