import fc from 'fast-check';
import { AxiosHeaders } from 'axios';
import {
  parseIetfRateLimit,
  parseRateLimitInfo,
  parseResetValue,
  parseRetryAfter,
  parseRetryAfterMs,
  parseShouldRetryHeader,
  readHeader,
  serverDelayHint,
} from '@axios-resilience/core';

const NOW = Date.parse('2026-11-29T12:00:00Z');

describe('Retry-After', () => {
  it('reads delta-seconds, decimals and zero', () => {
    expect(parseRetryAfter('1', NOW)).toBe(1000);
    expect(parseRetryAfter(' 120 ', NOW)).toBe(120_000);
    expect(parseRetryAfter('1.5', NOW)).toBe(1500);
    expect(parseRetryAfter('0', NOW)).toBe(0);
  });

  it('reads an HTTP-date as the time until it, and a past date as now', () => {
    expect(parseRetryAfter(new Date(NOW + 2000).toUTCString(), NOW)).toBe(2000);
    expect(parseRetryAfter('Sunday, 06-Nov-94 08:49:37 GMT', NOW)).toBe(0);
    expect(parseRetryAfter('Sun Nov  6 08:49:37 1994', NOW)).toBe(0);
  });

  it('ignores malformed values', () => {
    for (const value of ['', 'soon', '-1', '1e3', 'NaN', '1,5', 'Infinity', '99999999999999999999', undefined, null]) {
      expect([value, parseRetryAfter(value, NOW)]).toEqual([value, undefined]);
    }
  });

  it('retry-after-ms reads milliseconds', () => {
    expect(parseRetryAfterMs('250')).toBe(250);
    expect(parseRetryAfterMs('12.7')).toBe(13);
    expect(parseRetryAfterMs('-5')).toBeUndefined();
  });
});

describe('rate-limit headers', () => {
  it('tells epoch seconds, epoch milliseconds and delta seconds apart by size', () => {
    expect(parseResetValue(String(NOW / 1000 + 30), NOW)).toBe(30_000);
    expect(parseResetValue(String(NOW + 1500), NOW)).toBe(1500);
    expect(parseResetValue('45', NOW)).toBe(45_000);
    expect(parseResetValue(String(NOW / 1000 - 30), NOW)).toBe(0);
  });

  it('reads the current IETF draft, picking the most restrictive policy', () => {
    expect(parseIetfRateLimit('"default";r=50;t=30')).toEqual({ remaining: 50, resetMs: 30_000 });
    expect(parseIetfRateLimit('"burst";r=5;t=1, "daily";r=0;t=3600')).toEqual({ remaining: 0, resetMs: 3_600_000 });
    expect(parseIetfRateLimit('"a";r=0;t=2, "b";r=0;t=9')).toEqual({ remaining: 0, resetMs: 9000 });
  });

  it('reads the older draft', () => {
    expect(parseIetfRateLimit('limit=100, remaining=0, reset=30')).toEqual({
      limit: 100,
      remaining: 0,
      resetMs: 30_000,
    });
  });

  it('reads X-RateLimit-* and RateLimit-* when there is no RateLimit header', () => {
    const github = {
      'x-ratelimit-limit': '60',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': String(NOW / 1000 + 12),
    };
    expect(parseRateLimitInfo(github, NOW)).toEqual({ limit: 60, remaining: 0, resetMs: 12_000 });
    expect(parseRateLimitInfo({ 'RateLimit-Remaining': '3', 'RateLimit-Reset': '7' }, NOW)).toEqual({
      limit: undefined,
      remaining: 3,
      resetMs: 7000,
    });
    expect(parseRateLimitInfo({ 'x-ratelimit-remaining': 'lots' }, NOW)).toBeUndefined();
  });
});

describe('serverDelayHint', () => {
  it('orders retry-after-ms, Retry-After, RateLimit t (exhausted), X-RateLimit-Reset (exhausted)', () => {
    expect(serverDelayHint({ 'retry-after-ms': '100', 'retry-after': '5', ratelimit: '"p";r=0;t=9' }, NOW)).toEqual({
      delayMs: 100,
      source: 'retry-after-ms',
    });
    expect(serverDelayHint({ 'Retry-After': '5', ratelimit: '"p";r=0;t=9' }, NOW)).toEqual({
      delayMs: 5000,
      source: 'retry-after',
    });
    expect(serverDelayHint({ ratelimit: '"p";r=0;t=9' }, NOW)).toEqual({ delayMs: 9000, source: 'ratelimit' });
    expect(serverDelayHint({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '4' }, NOW)).toEqual({
      delayMs: 4000,
      source: 'ratelimit-reset',
    });
  });

  it('says nothing when quota remains or the hint is malformed', () => {
    expect(serverDelayHint({ ratelimit: '"p";r=3;t=9' }, NOW)).toBeUndefined();
    expect(serverDelayHint({ 'x-ratelimit-remaining': '2', 'x-ratelimit-reset': '4' }, NOW)).toBeUndefined();
    expect(serverDelayHint({ 'retry-after': 'later' }, NOW)).toBeUndefined();
    expect(serverDelayHint(undefined, NOW)).toBeUndefined();
  });

  it('reads AxiosHeaders case-insensitively', () => {
    const headers = new AxiosHeaders({ 'Retry-After': '2' });
    expect(readHeader(headers as never, 'retry-after')).toBe('2');
    expect(serverDelayHint(headers as never, NOW)).toEqual({ delayMs: 2000, source: 'retry-after' });
  });
});

describe('should-retry headers', () => {
  it('reads true, false and nothing', () => {
    expect(parseShouldRetryHeader({ 'x-should-retry': 'true' })).toBe(true);
    expect(parseShouldRetryHeader({ 'Stripe-Should-Retry': 'false' })).toBe(false);
    expect(parseShouldRetryHeader({ 'x-should-retry': 'maybe' })).toBeUndefined();
  });
});

describe('property: any string in, a finite non-negative number or no hint out, never a throw', () => {
  const isHint = (value: unknown) =>
    value === undefined || (typeof value === 'number' && Number.isFinite(value) && value >= 0);
  const anyHeader = fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.stringMatching(/^[0-9.\-e ]{0,25}$/),
    fc.date({ noInvalidDate: true }).map((date) => date.toUTCString()),
    fc.constantFrom('', ' ', 'r=0;t=', '"p";r=;t=-1', 'limit=, remaining=, reset=', '1e309', 'Infinity', '-0'),
  );

  it.each([
    ['parseRetryAfter', (value: string) => parseRetryAfter(value, NOW)],
    ['parseRetryAfterMs', (value: string) => parseRetryAfterMs(value)],
    ['parseResetValue', (value: string) => parseResetValue(value, NOW)],
    ['parseIetfRateLimit', (value: string) => parseIetfRateLimit(value)?.resetMs],
    ['parseIetfRateLimit remaining', (value: string) => parseIetfRateLimit(value)?.remaining],
    [
      'serverDelayHint',
      (value: string) =>
        serverDelayHint(
          { 'retry-after': value, ratelimit: value, 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': value },
          NOW,
        )?.delayMs,
    ],
  ])('%s', (_name, parse) => {
    fc.assert(
      fc.property(anyHeader, (value) => {
        expect(isHint(parse(value))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
