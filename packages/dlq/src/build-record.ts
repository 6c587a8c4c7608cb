import {
  DEFAULT_IDEMPOTENCY_HEADER,
  getFailureSummary,
  getResilience,
  readHeader,
  requestMethod,
  requestUrl,
  type FailureSummary,
} from '@axios-resilience/core';
import axios, { AxiosHeaders, type AxiosRequestConfig, type AxiosRequestTransformer } from 'axios';
import { base64ToBytes, captureBody, storeBody, truncateUtf8, utf8ByteLength, type CapturedBody } from './body';
import { DEAD_LETTER_RECORD_VERSION, type BodyEncoding, type DeadLetterRecord } from './record';
import { basicCredentials, redactHeaderMap, redactUrl, scrubSecrets, uniqueEntries, type NameMatcher } from './redact';

/** What `redactBody` is given: one body, request or response, as text (or base64 for bytes). */
export interface BodyRedactionState {
  /** The body: the exact text sent or received, or base64 of the bytes when `encoding` is `base64`. */
  body: string;
  /** How `body` is written; for `base64`, return base64 too. */
  encoding: BodyEncoding;
  /** The body's `content-type`, when it had one. */
  contentType: string | undefined;
  /** Which body this is: the request's (changing it makes the record not replayable) or the answer's. */
  part: 'request' | 'response';
}

/** Returns the body to store. Returning anything but the input marks the body redacted (not replayable). */
export type BodyRedactor = (state: BodyRedactionState) => string | Promise<string>;

/** The parts of the layer's options that shape a record. */
export interface RecordSettings {
  /** See `DeadLetterOptions.redactHeaders`. */
  redactHeaders: readonly NameMatcher[];
  /** See `DeadLetterOptions.redactQuery`. */
  redactQuery: readonly NameMatcher[];
  /** See `DeadLetterOptions.redactBody`. */
  redactBody: BodyRedactor | undefined;
  /** See `DeadLetterOptions.maxBodyBytes`. */
  maxBodyBytes: number;
  /** See `DeadLetterOptions.maxResponseBodyBytes`. */
  maxResponseBodyBytes: number;
  /** See `DeadLetterOptions.idempotencyHeader`. */
  idempotencyHeader: string;
}

/** Headers a replay must not copy: hop-by-hop, or computed by the adapter from the body and URL. */
const UNSTORED_HEADERS = new Set([
  'content-length',
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
]);

type ErrorLike = {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  status?: unknown;
  stack?: unknown;
  config?: AxiosRequestConfig;
  response?: { status?: unknown; headers?: unknown; data?: unknown };
};

/** A flat map of lower-cased header names to string values, from `AxiosHeaders` or a plain object. */
export function flattenHeaders(headers: unknown): Record<string, string> {
  if (typeof headers !== 'object' || headers === null) return {};
  const source =
    typeof (headers as { toJSON?: unknown }).toJSON === 'function'
      ? ((headers as { toJSON(asStrings: boolean): Record<string, unknown> }).toJSON(true) as Record<string, unknown>)
      : (headers as Record<string, unknown>);
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(source)) {
    if (value === undefined || value === null || value === false) continue;
    if (Array.isArray(value)) flat[name.toLowerCase()] = value.map(String).join(', ');
    else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      flat[name.toLowerCase()] = String(value);
    }
    // Nested objects are axios's per-method defaults (`common`, `post`) on a config never merged: not sent.
  }
  return flat;
}

function isAxiosErrorLike(error: unknown): boolean {
  return axios.isAxiosError(error);
}

/**
 * An error raised before the adapter ran (a rate-limit rejection) carries the caller's unserialised
 * `data`; run the config's own `transformRequest` on a copy to learn the bytes axios would have sent.
 */
function serialisePending(config: AxiosRequestConfig): { data: unknown; headers: unknown } {
  const headers = new AxiosHeaders(config.headers as ConstructorParameters<typeof AxiosHeaders>[0]);
  const configured = config.transformRequest ?? axios.defaults.transformRequest;
  const transforms = (
    Array.isArray(configured) ? configured : configured ? [configured] : []
  ) as AxiosRequestTransformer[];
  let data: unknown = config.data;
  for (const transform of transforms) {
    data = transform.call(config as never, data, headers);
  }
  return { data, headers };
}

/** The request as a record (and a redacted `toJSON()`) shows it, with what redaction removed. */
export interface DescribedRequest {
  /** Upper-case HTTP method. */
  method: string;
  /** The absolute URL, credentials and secret query parameters removed. */
  url: string;
  /** The request headers, lower-cased, secrets and connection headers removed. */
  headers: Record<string, string>;
  /** The body as axios sent it (or would have), before `redactBody` and truncation. */
  captured: CapturedBody;
  /** The key from `config.resilience`, else from the idempotency header; `null` when there is none. */
  idempotencyKey: string | null;
  /** The request's `content-type`, when it had one. */
  contentType: string | undefined;
  /** What redaction removed, as `DeadLetterRecord.redacted` lists it. */
  removed: string[];
  /** The removed values, so error messages and bodies can be scrubbed of them. Never stored. */
  secrets: string[];
}

function unquoteKey(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

/** Pure: reads a failed request's config into its redacted description. Never throws. */
export function describeRequest(
  error: unknown,
  config: AxiosRequestConfig,
  settings: RecordSettings,
): DescribedRequest {
  let data: unknown = config.data;
  let rawHeaders: unknown = config.headers;
  let captured: CapturedBody;
  try {
    if (!isAxiosErrorLike(error)) ({ data, headers: rawHeaders } = serialisePending(config));
    captured = captureBody(data);
  } catch {
    captured = { kind: 'unsupported', type: 'unserialisable' };
  }

  let url: string;
  try {
    url = requestUrl(config);
  } catch {
    url = String(config.url ?? '');
  }
  const urlRedaction = redactUrl(url, settings.redactQuery);
  const flat = flattenHeaders(rawHeaders);
  for (const name of Object.keys(flat)) if (UNSTORED_HEADERS.has(name)) delete flat[name];
  const headerRedaction = redactHeaderMap(flat, settings.redactHeaders, 'header');

  const removed = [...urlRedaction.removed, ...headerRedaction.removed];
  const secrets = [...urlRedaction.secrets, ...headerRedaction.secrets];
  if (config.auth) {
    removed.push('auth');
    const { username = '', password = '' } = config.auth;
    for (const value of [username, password]) if (value) secrets.push(value);
    secrets.push(...basicCredentials(username, password));
  }

  const stateKey = getResilience(config).idempotencyKey;
  const headerKey = readHeader(flat, settings.idempotencyHeader) ?? readHeader(flat, DEFAULT_IDEMPOTENCY_HEADER);
  const idempotencyKey =
    typeof stateKey === 'string' && stateKey.length > 0 ? stateKey : headerKey ? unquoteKey(headerKey) : null;

  return {
    method: requestMethod(config),
    url: urlRedaction.value,
    headers: headerRedaction.value,
    captured,
    idempotencyKey,
    contentType: flat['content-type'],
    removed,
    secrets,
  };
}

/** A redactor's answer for a binary body is base64 again; anything else is kept as the text it is. */
function bytesFromBase64(text: string): CapturedBody {
  try {
    return { kind: 'bytes', bytes: base64ToBytes(text) };
  } catch {
    return { kind: 'text', text };
  }
}

function toIso(epochMs: number | undefined): string | null {
  return typeof epochMs === 'number' && Number.isFinite(epochMs) ? new Date(epochMs).toISOString() : null;
}

function responseText(data: unknown): string | null {
  if (data === undefined || data === null) return null;
  if (typeof data === 'string') return data;
  if (data instanceof ArrayBuffer) return new TextDecoder().decode(new Uint8Array(data));
  if (ArrayBuffer.isView(data)) {
    return new TextDecoder().decode(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  if (typeof data === 'object') {
    const candidate = data as Record<string, unknown>;
    if (typeof candidate.pipe === 'function' || typeof candidate.getReader === 'function') return null;
  }
  try {
    return JSON.stringify(data) ?? null;
  } catch {
    return null;
  }
}

async function applyBodyRedactor(
  redactor: BodyRedactor | undefined,
  state: BodyRedactionState,
): Promise<{ body: string; changed: boolean }> {
  if (!redactor) return { body: state.body, changed: false };
  const result = await redactor(state);
  if (typeof result !== 'string') {
    throw new TypeError(`redactBody: expected a string, got ${result === null ? 'null' : typeof result}`);
  }
  return { body: result, changed: result !== state.body };
}

/** The record's metadata that does not come from the error. */
export interface RecordIdentity {
  /** The record id (`generateId()`). */
  id: string;
  /** When the record was made, epoch ms. */
  createdAt: number;
}

/** The summary retry set, or the one a failure retry never judged carries. */
export function summaryOf(error: unknown): FailureSummary {
  return getFailureSummary(error) ?? { attempts: 1, totalDelayMs: 0, reason: 'not-retryable' };
}

/**
 * Builds the version-1 record of a final failure: redacted, serialisable, with the exact body bytes when
 * they could be kept. Throws only when the user's `redactBody` throws.
 */
export async function buildDeadLetterRecord(
  error: unknown,
  config: AxiosRequestConfig,
  settings: RecordSettings,
  identity: RecordIdentity,
  described: DescribedRequest = describeRequest(error, config, settings),
): Promise<DeadLetterRecord> {
  const removed = [...described.removed];
  const secrets = [...described.secrets];
  const failure = error as ErrorLike;

  let captured = described.captured;
  let requestRedacted = false;
  if (captured.kind === 'text' || captured.kind === 'bytes') {
    const encoding: BodyEncoding = captured.kind === 'text' ? 'utf8' : 'base64';
    const original = captured.kind === 'text' ? captured.text : (storeBody(captured, Infinity).body ?? '');
    const redaction = await applyBodyRedactor(settings.redactBody, {
      body: original,
      encoding,
      contentType: described.contentType,
      part: 'request',
    });
    if (redaction.changed) {
      requestRedacted = true;
      removed.push('body');
      captured = encoding === 'utf8' ? { kind: 'text', text: redaction.body } : bytesFromBase64(redaction.body);
    }
  }
  const stored = storeBody(captured, settings.maxBodyBytes);
  if (stored.truncated) removed.push('body:truncated');
  if (captured.kind === 'unsupported') removed.push('body:unsupported');

  const response = failure.response;
  const responseHeaders = redactHeaderMap(flattenHeaders(response?.headers), settings.redactHeaders, 'response-header');
  removed.push(...responseHeaders.removed);
  secrets.push(...responseHeaders.secrets);

  let responseBody = responseText(response?.data);
  if (responseBody !== null) {
    const redaction = await applyBodyRedactor(settings.redactBody, {
      body: responseBody,
      encoding: 'utf8',
      contentType: responseHeaders.value['content-type'],
      part: 'response',
    });
    if (redaction.changed) removed.push('response-body');
    responseBody = redaction.body;
    if (utf8ByteLength(responseBody) > settings.maxResponseBodyBytes) {
      removed.push('response-body:truncated');
      responseBody = truncateUtf8(responseBody, settings.maxResponseBodyBytes);
    }
    responseBody = scrubSecrets(responseBody, secrets);
  }

  const state = getResilience(config);
  const summary = summaryOf(error);
  const status =
    typeof response?.status === 'number' ? response.status : typeof failure.status === 'number' ? failure.status : null;
  const replayable = !requestRedacted && !stored.truncated && captured.kind !== 'unsupported';

  return {
    version: DEAD_LETTER_RECORD_VERSION,
    id: identity.id,
    createdAt: new Date(identity.createdAt).toISOString(),
    method: described.method,
    url: described.url,
    headers: described.headers,
    body: stored.body,
    bodyEncoding: stored.bodyEncoding,
    idempotencyKey: described.idempotencyKey,
    attempts: summary.attempts,
    firstAttemptAt: toIso(state.firstAttemptAt),
    lastAttemptAt: toIso(state.lastAttemptAt),
    reason: summary.reason,
    error: {
      code: typeof failure.code === 'string' ? failure.code : null,
      message: scrubSecrets(String(failure.message ?? ''), secrets),
      status,
      responseHeaders: responseHeaders.value,
      responseBody,
    },
    replayable,
    redacted: uniqueEntries(removed),
    replays: 0,
    lastReplay: null,
  };
}
