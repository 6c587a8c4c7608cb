import {
  assertKnownKeys,
  assertNonEmptyString,
  assertNonNegativeNumber,
  assertOneOf,
  assertPlainObject,
  optionError,
} from '@axios-resilience/core';

/** The kinds of failure chaos can make. */
export type ChaosFaultKind = 'status' | 'network' | 'latency' | 'timeout' | 'drop-response';

/** Every `ChaosFaultKind`: the values a fault's `kind` accepts. */
export const CHAOS_FAULT_KINDS: readonly ChaosFaultKind[] = [
  'status',
  'network',
  'latency',
  'timeout',
  'drop-response',
];

interface Weighted {
  /**
   * Relative weight of this fault among the configured ones (a fault of weight 2 is drawn twice as often
   * as one of weight 1).
   * @default 1
   */
  weight?: number;
}

/** The server answers with an error status; nothing reaches the real server. */
export interface StatusFault extends Weighted {
  kind: 'status';
  /** An HTTP status from 400 to 599, typically 429, 500, 502, 503 or 504. */
  status: number;
  /**
   * The `Retry-After` value sent with the answer: delta-seconds or an HTTP-date; `false` sends none.
   * @default 1 for 429, none otherwise
   */
  retryAfter?: number | string | false;
  /**
   * Extra response headers (for example `X-RateLimit-Remaining: 0`).
   * @default {}
   */
  headers?: Record<string, string>;
  /**
   * The response body.
   * @default a small JSON error object naming the injected status
   */
  body?: string;
}

/** The connection fails before any response: nothing reaches the real server. */
export interface NetworkFault extends Weighted {
  kind: 'network';
  /**
   * The error code the client sees. The proxy can only make a reset, whatever the code.
   * @default 'ECONNRESET'
   */
  code?: string;
}

/** The request is held, then sent as usual. */
export interface LatencyFault extends Weighted {
  kind: 'latency';
  /**
   * The added delay in ms. In process, a delay at or above the request's `timeout` turns into that timeout.
   * @default 1000
   */
  ms?: number;
}

/** The request never gets an answer: the client times out and nothing reaches the real server. */
export interface TimeoutFault extends Weighted {
  kind: 'timeout';
  /**
   * How long the request hangs when the client set no `timeout` of its own (in process), or at most
   * (in the proxy, which cannot see the client's timeout; the connection is then closed).
   * @default 30_000
   */
  ms?: number;
}

/**
 * The request reaches the real server and is processed, but the answer is lost on the way back: the
 * client sees a reset or a timeout after the server committed. The double-charge story.
 */
export interface DropResponseFault extends Weighted {
  kind: 'drop-response';
  /**
   * What the client sees once the answer is dropped: a connection reset, or its timeout.
   * @default 'reset'
   */
  error?: 'reset' | 'timeout';
  /**
   * With `error: 'timeout'`, how long the client hangs when it set no `timeout` of its own (in process), or at
   * most (in the proxy).
   * @default 30_000
   */
  ms?: number;
}

/** One entry of the weighted `faults` list. */
export type ChaosFault = StatusFault | NetworkFault | LatencyFault | TimeoutFault | DropResponseFault;

/** A `StatusFault` with its defaults filled in (frozen). */
export interface ResolvedStatusFault {
  /** Always `'status'`. */
  readonly kind: 'status';
  /** See `StatusFault.status`. */
  readonly status: number;
  /** See `StatusFault.retryAfter`; `false` when none is sent. */
  readonly retryAfter: number | string | false;
  /** See `StatusFault.headers`. */
  readonly headers: Readonly<Record<string, string>>;
  /** See `StatusFault.body`. */
  readonly body: string;
  /** See `StatusFault.weight`. */
  readonly weight: number;
}

/** A `NetworkFault` with its defaults filled in (frozen). */
export interface ResolvedNetworkFault {
  /** Always `'network'`. */
  readonly kind: 'network';
  /** See `NetworkFault.code`. */
  readonly code: string;
  /** See `NetworkFault.weight`. */
  readonly weight: number;
}

/** A `LatencyFault` with its defaults filled in (frozen). */
export interface ResolvedLatencyFault {
  /** Always `'latency'`. */
  readonly kind: 'latency';
  /** See `LatencyFault.ms`. */
  readonly ms: number;
  /** See `LatencyFault.weight`. */
  readonly weight: number;
}

/** A `TimeoutFault` with its defaults filled in (frozen). */
export interface ResolvedTimeoutFault {
  /** Always `'timeout'`. */
  readonly kind: 'timeout';
  /** See `TimeoutFault.ms`. */
  readonly ms: number;
  /** See `TimeoutFault.weight`. */
  readonly weight: number;
}

/** A `DropResponseFault` with its defaults filled in (frozen). */
export interface ResolvedDropResponseFault {
  /** Always `'drop-response'`. */
  readonly kind: 'drop-response';
  /** See `DropResponseFault.error`. */
  readonly error: 'reset' | 'timeout';
  /** See `DropResponseFault.ms`. */
  readonly ms: number;
  /** See `DropResponseFault.weight`. */
  readonly weight: number;
}

/** A fault with every default filled in: what the picker returns and the hooks receive. */
export type ResolvedChaosFault =
  ResolvedStatusFault | ResolvedNetworkFault | ResolvedLatencyFault | ResolvedTimeoutFault | ResolvedDropResponseFault;

/** The delay of a latency fault that names none. */
export const DEFAULT_LATENCY_MS = 1000;
/** How long timeout and drop-response faults hang at most when they name no `ms`. */
export const DEFAULT_HANG_MS = 30_000;

/** The default mix, equally weighted: a 429 with `Retry-After: 1`, a 503 and a connection reset. */
export const DEFAULT_FAULTS: readonly ChaosFault[] = Object.freeze([
  Object.freeze({ kind: 'status', status: 429, retryAfter: 1 }),
  Object.freeze({ kind: 'status', status: 503 }),
  Object.freeze({ kind: 'network', code: 'ECONNRESET' }),
]) as readonly ChaosFault[];

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  409: 'Conflict',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** The reason phrase for a status, or a generic one (kept local so the main entry needs no Node module). */
export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? (status >= 500 ? 'Server Error' : 'Client Error');
}

/** The body a status fault sends when none is configured. */
export function defaultFaultBody(status: number): string {
  return JSON.stringify({ error: { type: 'chaos', message: `Injected fault: ${status} ${statusText(status)}` } });
}

/** The response headers of a status fault, lower-cased, content headers included. */
export function statusFaultHeaders(fault: ResolvedStatusFault, bodyLength: number): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': fault.body.trimStart().startsWith('{') ? 'application/json' : 'text/plain; charset=utf-8',
    'content-length': String(bodyLength),
  };
  if (fault.retryAfter !== false) headers['retry-after'] = String(fault.retryAfter);
  for (const [name, value] of Object.entries(fault.headers)) headers[name.toLowerCase()] = value;
  return headers;
}

/** A short description for logs: `status 429`, `network ECONNRESET`, `latency 200ms`, ... */
export function describeFault(fault: ResolvedChaosFault): string {
  switch (fault.kind) {
    case 'status':
      return `status ${fault.status}`;
    case 'network':
      return `network ${fault.code}`;
    case 'latency':
      return `latency ${fault.ms}ms`;
    case 'timeout':
      return 'timeout';
    case 'drop-response':
      return `drop-response (${fault.error})`;
  }
}

const COMMON_KEYS = ['kind', 'weight'];
const KEYS_BY_KIND: Record<ChaosFaultKind, readonly string[]> = {
  status: [...COMMON_KEYS, 'status', 'retryAfter', 'headers', 'body'],
  network: [...COMMON_KEYS, 'code'],
  latency: [...COMMON_KEYS, 'ms'],
  timeout: [...COMMON_KEYS, 'ms'],
  'drop-response': [...COMMON_KEYS, 'error', 'ms'],
};

function resolveRetryAfter(path: string, value: unknown, status: number): number | string | false {
  if (value === undefined) return status === 429 ? 1 : false;
  if (value === false) return false;
  if (typeof value === 'number') {
    assertNonNegativeNumber(path, value);
    return value;
  }
  if (typeof value === 'string' && value.trim().length > 0) return value;
  throw optionError(path, 'delta-seconds (a number >= 0), an HTTP-date string or false', value);
}

function resolveHeaders(path: string, value: unknown): Record<string, string> {
  if (value === undefined) return {};
  assertPlainObject(path, value);
  const headers: Record<string, string> = {};
  for (const [name, header] of Object.entries(value)) {
    if (typeof header !== 'string') throw optionError(`${path}.${name}`, 'a string', header);
    headers[name] = header;
  }
  return headers;
}

/** Validates one fault and fills in its defaults. Throws a `TypeError` naming the option at fault. */
export function resolveFault(fault: unknown, path = 'fault'): ResolvedChaosFault {
  assertPlainObject(path, fault);
  assertOneOf(`${path}.kind`, fault.kind, CHAOS_FAULT_KINDS);
  const kind = fault.kind;
  assertKnownKeys(path, fault, KEYS_BY_KIND[kind]);
  const weight = fault.weight ?? 1;
  assertNonNegativeNumber(`${path}.weight`, weight);
  switch (kind) {
    case 'status': {
      const status = fault.status;
      if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 599) {
        throw optionError(`${path}.status`, 'an HTTP error status from 400 to 599', status);
      }
      if (fault.body !== undefined && typeof fault.body !== 'string') {
        throw optionError(`${path}.body`, 'a string', fault.body);
      }
      return Object.freeze({
        kind,
        status,
        retryAfter: resolveRetryAfter(`${path}.retryAfter`, fault.retryAfter, status),
        headers: Object.freeze(resolveHeaders(`${path}.headers`, fault.headers)),
        body: (fault.body as string | undefined) ?? defaultFaultBody(status),
        weight,
      });
    }
    case 'network': {
      const code = fault.code ?? 'ECONNRESET';
      assertNonEmptyString(`${path}.code`, code);
      return Object.freeze({ kind, code, weight });
    }
    case 'latency': {
      const ms = fault.ms ?? DEFAULT_LATENCY_MS;
      assertNonNegativeNumber(`${path}.ms`, ms);
      return Object.freeze({ kind, ms, weight });
    }
    case 'timeout': {
      const ms = fault.ms ?? DEFAULT_HANG_MS;
      assertNonNegativeNumber(`${path}.ms`, ms);
      return Object.freeze({ kind, ms, weight });
    }
    case 'drop-response': {
      const error = fault.error ?? 'reset';
      assertOneOf(`${path}.error`, error, ['reset', 'timeout'] as const);
      const ms = fault.ms ?? DEFAULT_HANG_MS;
      assertNonNegativeNumber(`${path}.ms`, ms);
      return Object.freeze({ kind, error, ms, weight });
    }
  }
}

/** Validates a weighted fault list: at least one fault, and weights that do not all come to zero. */
export function resolveFaults(faults: unknown, path = 'faults'): readonly ResolvedChaosFault[] {
  if (!Array.isArray(faults) || faults.length === 0) {
    throw optionError(path, 'a non-empty array of faults', faults);
  }
  const resolved = faults.map((fault, index) => resolveFault(fault, `${path}[${index}]`));
  if (resolved.every((fault) => fault.weight === 0)) {
    throw new TypeError(`${path}: expected at least one fault with a weight above 0, got only zero weights`);
  }
  return Object.freeze(resolved);
}
