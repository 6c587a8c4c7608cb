import axios, { AxiosHeaders } from 'axios';
import { attachRateLimit, learnedPause, memoryLimiter, type RateLimitPauseState } from '@axios-resilience/ratelimit';
import { stubAdapter, type StubReply } from '@axios-resilience/testkit';

const START = Date.UTC(2030, 0, 1, 12, 0, 0);
const EPOCH_SECONDS = START / 1000;

describe('learnedPause (pure)', () => {
  it.each([
    ['Retry-After delta-seconds', 429, { 'retry-after': '2' }, 2_000, 'retry-after'],
    ['Retry-After HTTP-date', 429, { 'retry-after': new Date(START + 5_000).toUTCString() }, 5_000, 'retry-after'],
    ['retry-after-ms', 429, { 'retry-after-ms': '1500', 'retry-after': '9' }, 1_500, 'retry-after-ms'],
    [
      'GitHub epoch X-RateLimit-Reset',
      403,
      { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(EPOCH_SECONDS + 60) },
      60_000,
      'ratelimit-reset',
    ],
    [
      'delta-seconds X-RateLimit-Reset',
      200,
      { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '30' },
      30_000,
      'ratelimit-reset',
    ],
    [
      'RateLimit-Remaining / RateLimit-Reset',
      200,
      { 'ratelimit-remaining': '0', 'ratelimit-reset': '4' },
      4_000,
      'ratelimit-reset',
    ],
    [
      'IETF RateLimit r=0',
      200,
      { ratelimit: '"default";r=0;t=7', 'ratelimit-policy': '"default";q=100;w=60' },
      7_000,
      'ratelimit',
    ],
    ['older IETF draft', 200, { ratelimit: 'limit=100, remaining=0, reset=9' }, 9_000, 'ratelimit'],
    [
      'a 429 with only an exhausted reset',
      429,
      { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '3' },
      3_000,
      'ratelimit-reset',
    ],
  ])('%s pauses for the hinted time', (_name, status, headers, delayMs, source) => {
    expect(learnedPause(status, headers, START)).toEqual({ delayMs, source });
  });

  it.each([
    ['quota left', 200, { 'x-ratelimit-remaining': '5', 'x-ratelimit-reset': '30' }],
    ['remaining 0 without a reset', 200, { 'x-ratelimit-remaining': '0' }],
    ['IETF with quota left', 200, { ratelimit: '"default";r=3;t=7' }],
    ['Retry-After on a success', 200, { 'retry-after': '5' }],
    ['a 503 with Retry-After (not a rate limit)', 503, { 'retry-after': '5' }],
    ['a 429 without any hint', 429, {}],
    ['malformed Retry-After', 429, { 'retry-after': 'soon' }],
    ['negative Retry-After', 429, { 'retry-after': '-5' }],
    ['malformed reset', 200, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': 'tomorrow' }],
    ['malformed remaining', 200, { 'x-ratelimit-remaining': 'none', 'x-ratelimit-reset': '30' }],
    ['garbage IETF header', 200, { ratelimit: ';;;r=;t=x' }],
    ['a reset in the past', 200, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(EPOCH_SECONDS - 10) }],
  ])('%s changes nothing', (_name, status, headers) => {
    expect(learnedPause(status, headers as Record<string, string>, START)).toBeUndefined();
  });

  it('finds rate-limit headers in any letter case, in a plain object and in AxiosHeaders', () => {
    const plain = { 'Content-Type': 'application/json', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '12' };
    expect(learnedPause(200, plain, START)).toEqual({ delayMs: 12_000, source: 'ratelimit-reset' });
    expect(learnedPause(200, new AxiosHeaders(plain) as never, START)).toEqual({
      delayMs: 12_000,
      source: 'ratelimit-reset',
    });
    expect(learnedPause(200, { RateLimit: '"default";r=0;t=4' }, START)).toEqual({
      delayMs: 4_000,
      source: 'ratelimit',
    });
  });
});

describe('attachRateLimit: learning from responses', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: START });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  function setup(first: StubReply, options: { learn?: boolean } = {}) {
    const sentAt: number[] = [];
    const adapter = stubAdapter((_config, index) => {
      sentAt.push(Date.now() - START);
      return index === 0 ? first : { status: 200 };
    });
    const api = axios.create({ baseURL: 'https://api.example.test', adapter });
    const pauses: RateLimitPauseState[] = [];
    const limiter = memoryLimiter({ limit: 100, intervalMs: 1000 });
    attachRateLimit(api, { limiter, learn: options.learn, onPause: (state) => void pauses.push(state) });
    return { api, sentAt, pauses, limiter };
  }

  async function secondRequestSentAt(first: StubReply, options: { learn?: boolean } = {}) {
    const { api, sentAt, pauses, limiter } = setup(first, options);
    await api.get('/first').catch(() => undefined);
    const second = api.get('/second');
    await jest.advanceTimersByTimeAsync(120_000);
    await second;
    return { at: sentAt[1], pauses, limiter };
  }

  it('a 429 with Retry-After pauses the key until the hint', async () => {
    const { at, pauses } = await secondRequestSentAt({ status: 429, headers: { 'Retry-After': '2' } });
    expect(at).toBe(2_000);
    expect(pauses).toEqual([
      { key: 'https://api.example.test', untilMs: START + 2_000, delayMs: 2_000, source: 'retry-after', status: 429 },
    ]);
  });

  it('GitHub-style epoch X-RateLimit-Reset with remaining 0 pauses until the reset', async () => {
    const headers = { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': String(EPOCH_SECONDS + 42) };
    expect((await secondRequestSentAt({ status: 200, headers })).at).toBe(42_000);
  });

  it('delta-seconds X-RateLimit-Reset pauses for that many seconds', async () => {
    const headers = { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '5' };
    expect((await secondRequestSentAt({ status: 200, headers })).at).toBe(5_000);
  });

  it('IETF RateLimit with r=0 pauses for t seconds', async () => {
    const headers = { RateLimit: '"burst";r=0;t=3, "daily";r=900;t=40000' };
    expect((await secondRequestSentAt({ status: 200, headers })).at).toBe(3_000);
  });

  it('malformed headers change nothing', async () => {
    const headers = {
      'Retry-After': 'later',
      'X-RateLimit-Remaining': 'zero',
      'X-RateLimit-Reset': '??',
      RateLimit: 'r=;t=',
    };
    const { at, pauses, limiter } = await secondRequestSentAt({ status: 429, headers });
    expect(at).toBe(0);
    expect(pauses).toEqual([]);
    expect(limiter.pausedUntil('https://api.example.test')).toBeUndefined();
  });

  it('learn: false ignores the hints', async () => {
    expect((await secondRequestSentAt({ status: 429, headers: { 'Retry-After': '2' } }, { learn: false })).at).toBe(0);
  });

  it('learn: false ignores a spent budget on a successful answer too (the other way an answer comes back)', async () => {
    const spent = { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '5' };
    expect((await secondRequestSentAt({ status: 200, headers: spent }, { learn: false })).at).toBe(0);
  });

  it('pauses only the key that was told to wait', async () => {
    const { api, sentAt } = setup({ status: 429, headers: { 'Retry-After': '10' } });
    await api.get('/first').catch(() => undefined);
    await api.get('https://other.example.test/x');
    expect(sentAt).toEqual([0, 0]);
  });
});
