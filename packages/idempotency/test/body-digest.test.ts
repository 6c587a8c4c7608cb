import fc from 'fast-check';
import { bodyDigest, fnv1a64, hashString } from '../src/body-digest';

/** FNV-1a 64 done the obvious way, with BigInt: the reference the fast version must equal. */
function referenceFnv1a64(bytes: Uint8Array): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of bytes) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return hash.toString(16).padStart(16, '0');
}

describe('fnv1a64', () => {
  it('matches the published FNV-1a 64 test vectors', () => {
    expect(hashString('')).toBe('cbf29ce484222325');
    expect(hashString('a')).toBe('af63dc4c8601ec8c');
    expect(hashString('foobar')).toBe('85944171f73967e8');
  });

  it('hashes bytes and their UTF-8 string alike', () => {
    expect(fnv1a64(new TextEncoder().encode('héllo'))).toBe(hashString('héllo'));
  });

  it('equals FNV-1a 64 computed with BigInt, for any text, short or past the reused buffer', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 64 }),
      // Around the 4,096 units that fit the reused buffer, with characters of 1 to 4 UTF-8 bytes.
      fc.string({ unit: fc.constantFrom('a', 'é', '€', '😀'), minLength: 1360, maxLength: 4200 }),
    );
    fc.assert(
      fc.property(text, (value) => {
        const bytes = new TextEncoder().encode(value);
        expect(hashString(value)).toBe(referenceFnv1a64(bytes));
        expect(fnv1a64(bytes)).toBe(referenceFnv1a64(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it('hashes a string longer than the reused buffer, and the next short one, correctly', () => {
    const long = '€'.repeat(5000);
    expect(hashString(long)).toBe(referenceFnv1a64(new TextEncoder().encode(long)));
    expect(hashString('foobar')).toBe('85944171f73967e8');
  });
});

describe('bodyDigest', () => {
  it('gives a plain object and the JSON axios sends for it the same digest', () => {
    const body = { amount: 4200, currency: 'usd', metadata: { quiz: [1, 2] } };
    expect(bodyDigest(body)).toBe(bodyDigest(JSON.stringify(body)));
    expect(bodyDigest(body)).toBe(bodyDigest(` ${JSON.stringify(body, null, 2)}\n`));
  });

  it('tells different bodies apart', () => {
    expect(bodyDigest({ amount: 4200 })).not.toBe(bodyDigest({ amount: 4300 }));
    expect(bodyDigest('plain text')).not.toBe(bodyDigest('plain text!'));
    expect(bodyDigest(undefined)).not.toBe(bodyDigest({}));
  });

  it('hashes bytes by content, whatever the view', () => {
    const bytes = Uint8Array.from([1, 2, 3, 4]);
    expect(bodyDigest(Buffer.from(bytes))).toBe(bodyDigest(bytes));
    expect(bodyDigest(bytes.buffer)).toBe(bodyDigest(bytes));
    expect(bodyDigest(new Uint8Array([9, 1, 2, 3, 4]).subarray(1))).toBe(bodyDigest(bytes));
    expect(bodyDigest(Uint8Array.from([1, 2, 3, 5]))).not.toBe(bodyDigest(bytes));
  });

  it('hashes URLSearchParams as the string axios sends', () => {
    const params = new URLSearchParams({ amount: '4200', customer: 'cus_1' });
    expect(bodyDigest(params)).toBe(bodyDigest(params.toString()));
  });

  it('compares bodies that cannot be read without consuming them by type only', () => {
    const form = new FormData();
    form.append('a', '1');
    expect(bodyDigest(form)).toBe('opaque:FormData');
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(bodyDigest(circular)).toBe('opaque:unserialisable');
  });
});
