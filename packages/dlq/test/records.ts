import { DEAD_LETTER_RECORD_VERSION, type DeadLetterRecord } from '@axios-resilience/dlq';
import { v7 as uuidv7 } from 'uuid';

/** A valid version-1 record with every field set; `overrides` replace fields. */
export function makeRecord(overrides: Partial<DeadLetterRecord> = {}): DeadLetterRecord {
  const now = new Date().toISOString();
  return {
    version: DEAD_LETTER_RECORD_VERSION,
    id: uuidv7(),
    createdAt: now,
    method: 'POST',
    url: 'https://api.example.test/v1/charges?currency=eur',
    headers: { 'content-type': 'application/json', 'idempotency-key': 'key-1' },
    body: '{"amount":1200,"note":"caf\u00e9 \u2603"}',
    bodyEncoding: 'utf8',
    idempotencyKey: 'key-1',
    attempts: 6,
    firstAttemptAt: now,
    lastAttemptAt: now,
    reason: 'retries-exhausted',
    error: {
      code: 'ERR_BAD_RESPONSE',
      message: 'Request failed with status code 503',
      status: 503,
      responseHeaders: { 'content-type': 'application/json' },
      responseBody: '{"error":"unavailable"}',
    },
    replayable: true,
    redacted: [],
    replays: 0,
    lastReplay: null,
    ...overrides,
  };
}
