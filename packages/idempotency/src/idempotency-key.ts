import { ResilienceError } from '@axios-resilience/core';

/**
 * How the key is written in the header: `raw` as it is (Stripe, most APIs), `structured` as the IETF
 * draft's quoted sf-string.
 */
export type IdempotencyKeyFormat = 'raw' | 'structured';

/** Printable ASCII (0x20-0x7E): what a header value and an sf-string can both carry unchanged. */
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

function describeKey(key: string): string {
  return JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key);
}

/**
 * Refuses a key the server could not store or the header could not carry: not a string, empty, longer than
 * `maxLength` (Stripe's limit is 255), or holding characters outside printable ASCII. Thrown before anything
 * is sent, so a bad generator fails on the first write instead of sending requests the server will refuse.
 * `source` names where the key came from, for the message.
 */
export function assertValidIdempotencyKey(key: unknown, maxLength: number, source: string): asserts key is string {
  const problem =
    typeof key !== 'string'
      ? `must be a string, got ${key === null ? 'null' : typeof key}`
      : key.length === 0
        ? 'is empty'
        : key.length > maxLength
          ? `is ${key.length} characters long, over the limit of ${maxLength} (servers such as Stripe refuse longer keys)`
          : !PRINTABLE_ASCII.test(key)
            ? `holds characters outside printable ASCII (${describeKey(key)})`
            : undefined;
  if (problem !== undefined) {
    throw new ResilienceError(
      'ERR_IDEMPOTENCY_KEY_INVALID',
      `The idempotency key from ${source} ${problem}. Nothing was sent.`,
    );
  }
}

/**
 * The header value for a key. `raw` sends it as it is (Stripe and most APIs); `structured` sends the IETF
 * draft's quoted sf-string, escaping `\` and `"`.
 */
export function formatIdempotencyKey(key: string, format: IdempotencyKeyFormat): string {
  if (format === 'raw') return key;
  return `"${key.replace(/[\\"]/g, (character) => `\\${character}`)}"`;
}

/**
 * The key inside a header value: an sf-string is unquoted, anything else is taken as it is. Lets a caller
 * set the header in either form and still have the raw key recorded.
 */
export function parseIdempotencyKeyHeader(value: string): string {
  const trimmed = value.trim();
  if (trimmed.length < 2 || !trimmed.startsWith('"') || !trimmed.endsWith('"')) return value;
  let key = '';
  for (let index = 1; index < trimmed.length - 1; index += 1) {
    const character = trimmed[index];
    if (character === '\\') {
      const next = trimmed[index + 1];
      // An escape must be complete and must not swallow the closing quote.
      if ((next !== '\\' && next !== '"') || index + 1 >= trimmed.length - 1) return value;
      key += next;
      index += 1;
    } else if (character === '"') {
      return value;
    } else {
      key += character;
    }
  }
  return key;
}
