import {
  createFaultPicker,
  DEFAULT_FAULTS,
  describeFault,
  parseFaultSpec,
  resolveFaults,
  seededRandom,
  type ChaosFault,
  type ResolvedChaosFault,
} from '@axios-resilience/chaos';

/** Chi-square critical values at p = 0.001 by degrees of freedom. */
const CHI_SQUARE_CRITICAL_0_001: Record<number, number> = { 1: 10.83, 2: 13.82, 3: 16.27, 4: 18.47 };

function labels(draws: (ResolvedChaosFault | undefined)[]): string[] {
  return draws.map((fault) => (fault ? describeFault(fault) : 'none'));
}

function draw(picker: () => ResolvedChaosFault | undefined, count: number): (ResolvedChaosFault | undefined)[] {
  return Array.from({ length: count }, () => picker());
}

describe('seededRandom', () => {
  it('returns numbers in [0, 1) and the same sequence for the same seed', () => {
    const first = seededRandom(42);
    const second = seededRandom(42);
    const a = Array.from({ length: 1000 }, () => first());
    const b = Array.from({ length: 1000 }, () => second());
    expect(a).toEqual(b);
    expect(a.every((value) => value >= 0 && value < 1)).toBe(true);
    expect(new Set(a).size).toBeGreaterThan(990);
  });

  it('gives different sequences for different seeds', () => {
    const a = Array.from({ length: 20 }, seededRandom(1));
    const b = Array.from({ length: 20 }, seededRandom(2));
    expect(a).not.toEqual(b);
  });
});

describe('createFaultPicker', () => {
  it('draws the configured weights within chi-square bounds over 10,000 draws (fixed seed)', () => {
    const faults: ChaosFault[] = [
      { kind: 'status', status: 429, weight: 1 },
      { kind: 'status', status: 503, weight: 2 },
      { kind: 'network', weight: 3 },
      { kind: 'latency', ms: 5, weight: 4 },
    ];
    const picker = createFaultPicker({ rate: 1, faults, seed: 20_260_604 });
    const total = 10_000;
    const counts = new Map<string, number>();
    for (const label of labels(draw(picker, total))) counts.set(label, (counts.get(label) ?? 0) + 1);
    expect(counts.get('none')).toBeUndefined();

    const expected = new Map([
      ['status 429', total * 0.1],
      ['status 503', total * 0.2],
      ['network ECONNRESET', total * 0.3],
      ['latency 5ms', total * 0.4],
    ]);
    let chiSquare = 0;
    for (const [label, expectedCount] of expected) {
      const observed = counts.get(label) ?? 0;
      chiSquare += (observed - expectedCount) ** 2 / expectedCount;
    }
    expect(chiSquare).toBeLessThan(CHI_SQUARE_CRITICAL_0_001[3]);
  });

  it('detects a skewed mix: the same test statistic rejects weights the picker was not given', () => {
    const picker = createFaultPicker({
      rate: 1,
      faults: [
        { kind: 'status', status: 429, weight: 1 },
        { kind: 'status', status: 503, weight: 1 },
      ],
      seed: 7,
    });
    const total = 10_000;
    const hits429 = labels(draw(picker, total)).filter((label) => label === 'status 429').length;
    // Against a wrong hypothesis (429 at 40 %), the statistic must blow past the bound.
    const chiSquare = (hits429 - 4000) ** 2 / 4000 + (total - hits429 - 6000) ** 2 / 6000;
    expect(chiSquare).toBeGreaterThan(CHI_SQUARE_CRITICAL_0_001[1]);
    // And the true one (50/50) stays within +-3 sigma.
    expect(Math.abs(hits429 - 5000)).toBeLessThan(3 * Math.sqrt(total * 0.25));
  });

  it('uses the default mix (429 with Retry-After 1, 503, ECONNRESET) in equal shares', () => {
    const picker = createFaultPicker({ rate: 1, seed: 99 });
    const total = 9000;
    const counts = new Map<string, number>();
    const seen = draw(picker, total);
    for (const label of labels(seen)) counts.set(label, (counts.get(label) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual(['network ECONNRESET', 'status 429', 'status 503']);
    const sigma = Math.sqrt(total * (1 / 3) * (2 / 3));
    for (const count of counts.values()) expect(Math.abs(count - total / 3)).toBeLessThan(3 * sigma);
    const a429 = seen.find((fault) => fault?.kind === 'status' && fault.status === 429);
    expect(a429).toMatchObject({ kind: 'status', status: 429, retryAfter: 1 });
    const a503 = seen.find((fault) => fault?.kind === 'status' && fault.status === 503);
    expect(a503).toMatchObject({ retryAfter: false });
  });

  it('honours the rate within +-3 sigma', () => {
    for (const [rate, seed] of [
      [0.01, 1],
      [0.1, 2],
      [0.5, 3],
    ] as const) {
      const picker = createFaultPicker({ rate, seed });
      const total = 10_000;
      const faults = draw(picker, total).filter(Boolean).length;
      const sigma = Math.sqrt(total * rate * (1 - rate));
      expect(Math.abs(faults - total * rate)).toBeLessThan(3 * sigma);
    }
  });

  it('defaults the rate to 1 %', () => {
    const total = 20_000;
    const faults = draw(createFaultPicker({ seed: 5 }), total).filter(Boolean).length;
    expect(Math.abs(faults - 200)).toBeLessThan(3 * Math.sqrt(total * 0.01 * 0.99));
  });

  it('never faults at rate 0 and always at rate 1', () => {
    expect(draw(createFaultPicker({ rate: 0, seed: 1 }), 1000).some(Boolean)).toBe(false);
    expect(draw(createFaultPicker({ rate: 1, seed: 1 }), 1000).every(Boolean)).toBe(true);
  });

  it('gives the same sequence for the same seed, and another for another seed', () => {
    const options = { rate: 0.3, faults: parseFaultSpec('429,503,reset,latency=50,timeout,drop') };
    const a = labels(draw(createFaultPicker({ ...options, seed: 1234 }), 500));
    const b = labels(draw(createFaultPicker({ ...options, seed: 1234 }), 500));
    const c = labels(draw(createFaultPicker({ ...options, seed: 4321 }), 500));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(new Set(a).size).toBe(7);
  });

  it('draws from an injected random: one number for whether, one for which', () => {
    const values = [0.5, 0.0, 0.9, 0.05, 0.99];
    const random = jest.fn(() => values.shift() as number);
    const picker = createFaultPicker({
      rate: 0.6,
      random,
      faults: [
        { kind: 'status', status: 500 },
        { kind: 'network', code: 'EPIPE' },
      ],
    });
    expect(picker()).toMatchObject({ kind: 'status', status: 500 });
    expect(picker()).toBeUndefined();
    expect(picker()).toMatchObject({ kind: 'network', code: 'EPIPE' });
    expect(random).toHaveBeenCalledTimes(5);
  });

  it('never picks a fault of weight 0', () => {
    const picker = createFaultPicker({
      rate: 1,
      seed: 3,
      faults: [
        { kind: 'status', status: 500, weight: 0 },
        { kind: 'status', status: 502 },
        { kind: 'status', status: 504, weight: 0 },
      ],
    });
    expect(new Set(labels(draw(picker, 2000)))).toEqual(new Set(['status 502']));
  });

  it.each([
    [{ rate: 1.5 }, /faultPicker\.rate: expected a number from 0 to 1, got 1\.5/],
    [{ rate: '0.1' }, /faultPicker\.rate/],
    [{ seed: 1.5 }, /faultPicker\.seed: expected an integer, got 1\.5/],
    [{ seed: 1, random: () => 0.5 }, /faultPicker\.seed: cannot be combined with faultPicker\.random/],
    [{ random: 3 }, /faultPicker\.random: expected a function/],
    [{ faults: [] }, /faultPicker\.faults: expected a non-empty array of faults/],
    [{ faults: [{ kind: 'explode' }] }, /faultPicker\.faults\[0\]\.kind: expected one of 'status'/],
    [{ faults: [{ kind: 'status', status: 200 }] }, /faultPicker\.faults\[0\]\.status: expected an HTTP error status/],
    [{ faults: [{ kind: 'status', status: 503, retryAfter: -1 }] }, /faults\[0\]\.retryAfter/],
    [{ faults: [{ kind: 'latency', ms: -5 }] }, /faultPicker\.faults\[0\]\.ms: expected a finite number >= 0/],
    [{ faults: [{ kind: 'network', weight: -1 }] }, /faultPicker\.faults\[0\]\.weight/],
    [
      { faults: [{ kind: 'network', weight: 0 }] },
      /faultPicker\.faults: expected at least one fault with a weight above 0/,
    ],
    [{ faults: [{ kind: 'timeout', delay: 5 }] }, /faultPicker\.faults\[0\]\.delay: unknown option/],
    [
      { faults: [{ kind: 'drop-response', error: 'boom' }] },
      /faultPicker\.faults\[0\]\.error: expected one of 'reset', 'timeout'/,
    ],
    [{ rates: 0.1 }, /faultPicker\.rates: unknown option/],
  ])('refuses %p with a TypeError naming the option', (options, message) => {
    expect(() => createFaultPicker(options as never)).toThrow(TypeError);
    expect(() => createFaultPicker(options as never)).toThrow(message);
  });
});

describe('resolveFaults', () => {
  it('fills in the documented defaults', () => {
    expect(
      resolveFaults([
        { kind: 'status', status: 429 },
        { kind: 'status', status: 503, retryAfter: 'Wed, 21 Oct 2015 07:28:00 GMT', headers: { 'X-Test': 'a' } },
        { kind: 'network' },
        { kind: 'latency' },
        { kind: 'timeout' },
        { kind: 'drop-response' },
      ]),
    ).toEqual([
      expect.objectContaining({ kind: 'status', status: 429, retryAfter: 1, headers: {}, weight: 1 }),
      expect.objectContaining({ retryAfter: 'Wed, 21 Oct 2015 07:28:00 GMT', headers: { 'X-Test': 'a' } }),
      { kind: 'network', code: 'ECONNRESET', weight: 1 },
      { kind: 'latency', ms: 1000, weight: 1 },
      { kind: 'timeout', ms: 30_000, weight: 1 },
      { kind: 'drop-response', error: 'reset', ms: 30_000, weight: 1 },
    ]);
    const [fault503] = resolveFaults([{ kind: 'status', status: 503 }]);
    expect(fault503.kind === 'status' && JSON.parse(fault503.body)).toEqual({
      error: { type: 'chaos', message: 'Injected fault: 503 Service Unavailable' },
    });
  });

  it('keeps DEFAULT_FAULTS frozen', () => {
    expect(Object.isFrozen(DEFAULT_FAULTS)).toBe(true);
  });
});

describe('parseFaultSpec', () => {
  it('reads the compact CLI syntax', () => {
    expect(
      parseFaultSpec('429:1, 503=5:2,reset:1,latency=200,timeout=5000,drop,drop-response=timeout:3,network=EPIPE'),
    ).toEqual([
      { kind: 'status', status: 429, weight: 1 },
      { kind: 'status', status: 503, retryAfter: 5, weight: 2 },
      { kind: 'network', code: 'ECONNRESET', weight: 1 },
      { kind: 'latency', ms: 200 },
      { kind: 'timeout', ms: 5000 },
      { kind: 'drop-response' },
      { kind: 'drop-response', error: 'timeout', weight: 3 },
      { kind: 'network', code: 'EPIPE' },
    ]);
  });

  it.each([
    ['', /expected at least one fault/],
    ['200', /cannot read "200"/],
    ['latency=fast', /cannot read "latency=fast": expected milliseconds as a number/],
    ['429:x', /expected the weight as a number/],
    ['drop=later', /"reset" or "timeout"/],
    ['429:1:2', /at most one ":weight"/],
    ['reset=1', /no value after "reset"/],
  ])('refuses %p with a TypeError naming the entry', (spec, message) => {
    expect(() => parseFaultSpec(spec)).toThrow(TypeError);
    expect(() => parseFaultSpec(spec)).toThrow(message);
  });
});
