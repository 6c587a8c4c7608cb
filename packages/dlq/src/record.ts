import type { FailureReason } from '@axios-resilience/core';

/**
 * The record format version. Records are a file format users keep (JSONL files, Redis hashes): a change
 * that renames or re-types a field gets a new version, and readers keep reading older ones.
 */
export const DEAD_LETTER_RECORD_VERSION = 1;

/** How `body` holds the request body: the exact text sent (`utf8`) or its bytes in base64. */
export type BodyEncoding = 'utf8' | 'base64';

/** Why the operation failed, as the last attempt saw it. */
export interface DeadLetterErrorInfo {
  /** The error code: axios's (`ERR_BAD_RESPONSE`, `ECONNRESET`) or the suite's (`ERR_RATE_LIMITED`). */
  code: string | null;
  /** The error message, scrubbed of any secret the record's redaction removed. */
  message: string;
  /** The HTTP status of the last answer, `null` when there was none. */
  status: number | null;
  /** The last answer's headers, lower-cased and redacted (`set-cookie` and credential-looking names removed). */
  responseHeaders: Record<string, string>;
  /** The last answer's body as text, truncated (see `maxResponseBodyBytes`) and scrubbed; `null` when none. */
  responseBody: string | null;
}

/** What the latest failed replay of a record saw. */
export interface DeadLetterReplayInfo {
  /** When the replay was answered (ISO 8601). */
  at: string;
  /** The HTTP status of the replay's answer, `null` when there was none. */
  status: number | null;
  /** The replay error's code (`ECONNRESET`, `ERR_BAD_RESPONSE`), `null` when it had none. */
  code: string | null;
  /** The first line of the replay error's message. */
  message: string;
}

/**
 * One dead-lettered operation, version 1. Every field is always present (absent values are `null`), so
 * the JSON shape is stable for `jq`, SQL and diffing.
 */
export interface DeadLetterRecord {
  /** The record format version (see `DEAD_LETTER_RECORD_VERSION`); replay refuses versions it does not know. */
  version: typeof DEAD_LETTER_RECORD_VERSION;
  /** uuid v7 by default: ids sort in creation order. */
  id: string;
  /** When the record was made (ISO 8601). */
  createdAt: string;
  /** Upper-case HTTP method. */
  method: string;
  /** The absolute URL (baseURL joined, params serialised), without credentials or secret query parameters. */
  url: string;
  /** The request headers as sent, lower-cased, secrets removed; the idempotency key header is kept. */
  headers: Record<string, string>;
  /** The exact body sent, as `bodyEncoding` says; `null` when the request had none or it could not be kept. */
  body: string | null;
  /** How `body` is written; `null` when `body` is. */
  bodyEncoding: BodyEncoding | null;
  /** The idempotency key the operation was sent with; a replay sends it again. */
  idempotencyKey: string | null;
  /** Attempts sent, retries included. */
  attempts: number;
  /** When the first attempt was sent (ISO 8601), when known; replay's `maxAgeMs` counts from it. */
  firstAttemptAt: string | null;
  /** When the last attempt was sent (ISO 8601), when known. */
  lastAttemptAt: string | null;
  /** Why the operation was given up: the failure summary's reason (`retries-exhausted`, `not-retryable`, ...). */
  reason: FailureReason;
  /** What the last attempt failed with. */
  error: DeadLetterErrorInfo;
  /** False when the body could not be kept byte for byte (truncated, redacted, a stream): replay refuses it unless forced. */
  replayable: boolean;
  /**
   * What was removed from the original request or answer: `header:authorization`, `query:api_key`,
   * `url:credentials`, `auth` (axios's `auth` option), `body` (by `redactBody`), `body:truncated`,
   * `body:unsupported`, `response-header:set-cookie`, `response-body`, `response-body:truncated`.
   */
  redacted: string[];
  /** Failed replays so far. */
  replays: number;
  /** The latest failed replay, `null` before the first. */
  lastReplay: DeadLetterReplayInfo | null;
}

/** True for a value shaped like a stored record of any version (readers skip other lines). */
export function isDeadLetterRecord(value: unknown): value is DeadLetterRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const candidate = value as Partial<DeadLetterRecord>;
  return typeof candidate.id === 'string' && candidate.id.length > 0 && typeof candidate.version === 'number';
}

/** A deep copy, so a caller mutating what a sink returned never changes what the sink holds. */
export function cloneRecord(record: DeadLetterRecord): DeadLetterRecord {
  return JSON.parse(JSON.stringify(record)) as DeadLetterRecord;
}
