import { bytesToBase64 } from './body';

/**
 * Redaction: what must never reach a sink, a log line or `JSON.stringify(error)`. Pure functions over plain
 * data; the record builder and the redacted `toJSON()` both use them, so the two can never disagree.
 */

/** A header or query-parameter name to redact: a name (compared case-insensitively) or a pattern. */
export type NameMatcher = string | RegExp;

/** Headers that carry credentials whatever their value looks like. */
export const SECRET_HEADER_NAMES: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
];

/**
 * Any header or query parameter whose name looks like a credential. `auth` is matched as a word of the name
 * (`Authorization`, `X-Auth-Token`, `auth`) so that `author` survives, and `Idempotency-Key` never matches:
 * the key must reach a replay unchanged.
 */
export const SECRET_NAME_PATTERN: RegExp =
  /token|secret|passw(?:or)?d|signature|credential|api[-_]?key|(?:^|[-_])auth(?:orization|entication)?(?:$|[-_])|^(?:key|sig)$/i;

/** Replaces a secret wherever it still appears in free text (an error message, a response body). */
export const REDACTED_MARK = '[REDACTED]';

/** Secrets shorter than this are not scrubbed from free text: replacing every `true` or `1` would mangle it. */
const MIN_SCRUB_LENGTH = 6;
/** Pieces of a secret value (the token after `Bearer`, a cookie's value) are scrubbed from this length. */
const MIN_SCRUB_PART_LENGTH = 8;

/** What one redaction step removed. */
export interface Redaction<T> {
  /** The value with the secrets removed. */
  value: T;
  /** Names of what was removed, as the record lists them (`header:authorization`, `query:api_key`). */
  removed: string[];
  /** The removed values, so free text can be scrubbed of them too. Never stored. */
  secrets: string[];
}

function withoutStatefulFlags(pattern: RegExp): RegExp {
  return pattern.global || pattern.sticky ? new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '')) : pattern;
}

/** True when `name` matches one of `matchers` (names case-insensitively, patterns as they are). */
export function matchesName(name: string, matchers: readonly NameMatcher[]): boolean {
  const lower = name.toLowerCase();
  return matchers.some((matcher) =>
    typeof matcher === 'string' ? matcher.toLowerCase() === lower : withoutStatefulFlags(matcher).test(name),
  );
}

/** True for a header that must not be stored: a known credential header, a secret-looking name, or `extra`. */
export function isSecretHeaderName(name: string, extra: readonly NameMatcher[] = []): boolean {
  const lower = name.toLowerCase();
  return SECRET_HEADER_NAMES.includes(lower) || SECRET_NAME_PATTERN.test(name) || matchesName(name, extra);
}

/** True for a query parameter that must not be stored: a secret-looking name or one of `extra`. */
export function isSecretQueryName(name: string, extra: readonly NameMatcher[] = []): boolean {
  return SECRET_NAME_PATTERN.test(name) || matchesName(name, extra);
}

/** A value and its credential-looking pieces (`Bearer abc…` yields the token alone too). */
function secretPieces(value: string): string[] {
  const pieces = [value];
  for (const part of value.split(/[\s,;=:]+/)) {
    if (part.length >= MIN_SCRUB_PART_LENGTH && part !== value) pieces.push(part);
  }
  return pieces;
}

/**
 * Removes secret headers from a flat, lower-cased header map. `prefix` names the list entries
 * (`header`, `response-header`).
 */
export function redactHeaderMap(
  headers: Readonly<Record<string, string>>,
  extra: readonly NameMatcher[] = [],
  prefix = 'header',
): Redaction<Record<string, string>> {
  const value: Record<string, string> = {};
  const removed: string[] = [];
  const secrets: string[] = [];
  for (const [name, headerValue] of Object.entries(headers)) {
    if (isSecretHeaderName(name, extra)) {
      removed.push(`${prefix}:${name.toLowerCase()}`);
      secrets.push(...secretPieces(headerValue));
    } else {
      value[name] = headerValue;
    }
  }
  return { value, removed, secrets };
}

/** The forms a username and password take in an `Authorization: Basic` header. */
export function basicCredentials(user: string, password: string): string[] {
  const encoded = bytesToBase64(new TextEncoder().encode(`${user}:${password}`));
  return [encoded, `Basic ${encoded}`];
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#@]*)@/i;

/**
 * Removes URL credentials (`https://user:pass@host`) and secret query parameters. Works on the raw string
 * so every parameter that stays keeps its exact bytes (a URL object would re-encode them), and works on
 * relative URLs too.
 */
export function redactUrl(url: string, extraQuery: readonly NameMatcher[] = []): Redaction<string> {
  const removed: string[] = [];
  const secrets: string[] = [];
  let result = url;

  const userinfo = USERINFO.exec(result);
  if (userinfo) {
    removed.push('url:credentials');
    const [user = '', password = ''] = userinfo[2].split(':');
    for (const piece of [userinfo[2], user, password]) {
      if (piece) secrets.push(piece, safeDecode(piece));
    }
    // The adapter turns URL credentials into `Authorization: Basic ...`, which a server may echo back.
    secrets.push(...basicCredentials(user, password), ...basicCredentials(safeDecode(user), safeDecode(password)));
    result = userinfo[1] + result.slice(userinfo[0].length);
  }

  const hashAt = result.indexOf('#');
  const beforeHash = hashAt >= 0 ? result.slice(0, hashAt) : result;
  const hash = hashAt >= 0 ? result.slice(hashAt) : '';
  const queryAt = beforeHash.indexOf('?');
  if (queryAt >= 0) {
    const base = beforeHash.slice(0, queryAt);
    const kept: string[] = [];
    for (const pair of beforeHash.slice(queryAt + 1).split('&')) {
      const equalsAt = pair.indexOf('=');
      const rawName = equalsAt >= 0 ? pair.slice(0, equalsAt) : pair;
      const name = safeDecode(rawName);
      if (pair.length > 0 && isSecretQueryName(name, extraQuery)) {
        removed.push(`query:${name}`);
        const rawValue = equalsAt >= 0 ? pair.slice(equalsAt + 1) : '';
        if (rawValue) secrets.push(rawValue, ...secretPieces(safeDecode(rawValue)));
      } else {
        kept.push(pair);
      }
    }
    if (kept.length !== beforeHash.slice(queryAt + 1).split('&').length) {
      const query = kept.filter((pair) => pair.length > 0).join('&');
      result = base + (query ? `?${query}` : '') + hash;
    }
  }
  return { value: result, removed, secrets };
}

/** Replaces every known secret (long enough to be one) in `text` with `[REDACTED]`. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  const candidates = [...new Set(secrets)]
    .filter((secret) => secret.length >= MIN_SCRUB_LENGTH)
    .sort((a, b) => b.length - a.length);
  let result = text;
  for (const secret of candidates) {
    if (result.includes(secret)) result = result.split(secret).join(REDACTED_MARK);
  }
  return result;
}

/** Keeps the first occurrence of each entry, in order. */
export function uniqueEntries(entries: readonly string[]): string[] {
  return [...new Set(entries)];
}
