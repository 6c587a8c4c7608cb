import { isResilienceError } from '@axios-resilience/core';
import { assertValidIdempotencyKey, formatIdempotencyKey, parseIdempotencyKeyHeader } from '../src/idempotency-key';

function invalidMessage(key: unknown, max = 255): string {
  try {
    assertValidIdempotencyKey(key, max, 'generateKey()');
  } catch (error) {
    expect(isResilienceError(error)).toBe(true);
    expect((error as { code: string }).code).toBe('ERR_IDEMPOTENCY_KEY_INVALID');
    return (error as Error).message;
  }
  throw new Error('expected the key to be refused');
}

describe('assertValidIdempotencyKey', () => {
  it('accepts a uuid and a key of exactly the limit', () => {
    expect(() => assertValidIdempotencyKey('5f0c7a3e-4d5b-4c1e-9f51-0b7c1d2e3f40', 255, 'x')).not.toThrow();
    expect(() => assertValidIdempotencyKey('k'.repeat(255), 255, 'x')).not.toThrow();
  });

  it('refuses empty, over-long, non-string and non-printable keys with a message naming the problem', () => {
    expect(invalidMessage('')).toMatch(/from generateKey\(\) is empty/);
    expect(invalidMessage('k'.repeat(256))).toMatch(/256 characters long, over the limit of 255/);
    expect(invalidMessage(42)).toMatch(/must be a string, got number/);
    expect(invalidMessage(null)).toMatch(/must be a string, got null/);
    expect(invalidMessage('line\nbreak')).toMatch(/outside printable ASCII/);
    expect(invalidMessage('clé')).toMatch(/outside printable ASCII/);
    expect(invalidMessage('k'.repeat(11), 10)).toMatch(/over the limit of 10/);
  });
});

describe('formatIdempotencyKey and parseIdempotencyKeyHeader', () => {
  it('sends raw keys unchanged and structured keys as a quoted sf-string', () => {
    expect(formatIdempotencyKey('abc-123', 'raw')).toBe('abc-123');
    expect(formatIdempotencyKey('abc-123', 'structured')).toBe('"abc-123"');
    expect(formatIdempotencyKey('a"b\\c', 'structured')).toBe('"a\\"b\\\\c"');
  });

  it('reads back what it wrote, and takes unquoted or malformed values as they are', () => {
    for (const key of ['abc-123', 'a"b\\c', ' spaced ']) {
      expect(parseIdempotencyKeyHeader(formatIdempotencyKey(key, 'structured'))).toBe(key);
    }
    expect(parseIdempotencyKeyHeader('abc')).toBe('abc');
    expect(parseIdempotencyKeyHeader('"abc')).toBe('"abc');
    expect(parseIdempotencyKeyHeader('"a"b"')).toBe('"a"b"');
    expect(parseIdempotencyKeyHeader('"abc\\"')).toBe('"abc\\"');
  });
});
