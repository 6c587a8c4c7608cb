import {
  REQUEST_STAGE,
  ResilienceError,
  getResilience,
  optionError,
  readHeader,
  registerLayer,
  requestMethod,
  updateResilience,
  type Attachment,
  type RequestHandler,
} from '@axios-resilience/core';
import type { AxiosInstance, AxiosRequestConfig, InternalAxiosRequestConfig } from 'axios';
import { assertValidIdempotencyKey, formatIdempotencyKey, parseIdempotencyKeyHeader } from './idempotency-key';
import {
  defaultGenerateKey,
  resolveIdempotencyOptions,
  type IdempotencyOptions,
  type ResolvedIdempotencyOptions,
} from './idempotency-options';
import { requestFingerprint } from './request-fingerprint';
import { createReuseGuard, type ReuseGuard } from './reuse-guard';

/** The raw interceptors, for wiring `instance.interceptors.request.use(...)` by hand. */
export interface IdempotencyInterceptors {
  /** Sets the key header; it throws (nothing sent) on an invalid key or a key reused for another request. */
  request: [onFulfilled: RequestHandler];
}

type Headers = InternalAxiosRequestConfig['headers'] | Record<string, unknown> | undefined;

/** Sets (or, with `undefined`, removes) a header case-insensitively on `AxiosHeaders` or a plain object. */
function writeHeader(config: AxiosRequestConfig, name: string, value: string | undefined): void {
  const headers = config.headers as Headers;
  if (headers && typeof (headers as { set?: unknown }).set === 'function') {
    const axiosHeaders = headers as InternalAxiosRequestConfig['headers'];
    if (value === undefined) axiosHeaders.delete(name);
    // Rewrite even a header set to `false`: a key the layer records must be the key the server sees.
    else axiosHeaders.set(name, value, true);
    return;
  }
  const plain = { ...((config.headers as Record<string, unknown> | undefined) ?? {}) };
  for (const existing of Object.keys(plain)) {
    if (existing.toLowerCase() === name.toLowerCase()) delete plain[existing];
  }
  if (value !== undefined) plain[name] = value;
  config.headers = plain as AxiosRequestConfig['headers'];
}

function generateKey(options: ResolvedIdempotencyOptions): string {
  let key: unknown;
  try {
    key = options.generateKey();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ResilienceError('ERR_IDEMPOTENCY_KEY_INVALID', `generateKey() threw: ${reason}. Nothing was sent.`, {
      cause: error,
    });
  }
  // The built-in generator makes uuids, valid by construction; only a caller's generator needs checking.
  if (options.generateKey !== defaultGenerateKey) assertValidIdempotencyKey(key, options.maxKeyLength, 'generateKey()');
  return key as string;
}

/**
 * The key for this attempt, or `undefined` for a request that gets none. Precedence: an opt-out, then the
 * key already in `config.resilience` (the caller's, or the one an earlier attempt of this operation
 * recorded), then a header the caller set (one set to `false` means none), then a new key for a method that
 * gets one.
 */
function chooseKey(
  config: InternalAxiosRequestConfig,
  options: ResolvedIdempotencyOptions,
  headerPresent: boolean,
  headerOff: boolean,
): string | { fresh: string } | false | undefined {
  const requested = getResilience(config).idempotencyKey as unknown;
  if (requested === false) return false;
  const header = headerPresent ? readHeader(config.headers, options.headerName) : undefined;
  if (requested !== undefined && requested !== null) {
    // A header already carrying this key means an earlier attempt (or the caller) sent it: nothing to check.
    const alreadySent =
      typeof requested === 'string' &&
      header !== undefined &&
      (header === requested || header === formatIdempotencyKey(requested, options.format));
    if (!alreadySent) assertValidIdempotencyKey(requested, options.maxKeyLength, 'resilience.idempotencyKey');
    return requested as string;
  }
  // axios sends no header set to `false`: the caller asked for none, so none is made (or recorded, which
  // would let retry re-send the write as if the server could tell the attempts apart).
  if (headerOff) return undefined;
  if (header !== undefined && header.length > 0) {
    // In raw format the header is the key, quotes and all, so a replay elsewhere sends the very same value.
    return options.format === 'structured' ? parseIdempotencyKeyHeader(header) : header;
  }
  if (!options.methods.includes(requestMethod(config))) return undefined;
  return { fresh: generateKey(options) };
}

function createRequestHandler(options: ResolvedIdempotencyOptions): RequestHandler {
  const guard: ReuseGuard | undefined =
    options.guard === false ? undefined : 'check' in options.guard ? options.guard : createReuseGuard(options.guard);

  const lowerHeaderName = options.headerName.toLowerCase();
  // axios lower-cases `config.method` before any interceptor runs; other spellings take the general path.
  const freshKeyMethods = new Set(options.methods.map((method) => method.toLowerCase()));

  return (config) => {
    // One pass over the header names answers "is it there in any case?" for both reading and writing. It
    // runs on every request, so it is written out here rather than called.
    const headers = config.headers as Headers;
    let found: string | undefined;
    if (typeof headers === 'object' && headers !== null) {
      for (const existing of Object.keys(headers)) {
        // Only a name of the same length can match (no non-ASCII character lower-cases into ASCII of another
        // length): the others are not lower-cased, which would copy each one.
        if (existing.length === lowerHeaderName.length && existing.toLowerCase() === lowerHeaderName) {
          found = existing;
          break;
        }
      }
    }
    const headerPresent = found !== undefined;
    if (
      !headerPresent &&
      config.resilience?.idempotencyKey === undefined &&
      freshKeyMethods.has(config.method as string) &&
      typeof (headers as { set?: unknown } | undefined)?.set === 'function'
    ) {
      // The commonest case by far, the first attempt of a write with no key from anywhere, in short: what
      // the general path below decides for it, without its lookups. A key made here belongs to one operation
      // by construction, so the reuse guard (for keys from outside) has nothing to check. `AxiosHeaders` keeps
      // each header as an own property under the name it was set with, so with no such header in any case,
      // assigning the property is what `set` would do.
      const fresh = generateKey(options);
      (config.resilience ??= {}).idempotencyKey = fresh;
      (headers as Record<string, unknown>)[options.headerName] =
        options.format === 'raw' ? fresh : formatIdempotencyKey(fresh, options.format);
      return config;
    }
    const headerOff = found !== undefined && (headers as Record<string, unknown>)[found] === false;
    const chosen = chooseKey(config, options, headerPresent, headerOff);
    if (chosen === false) {
      writeHeader(config, options.headerName, undefined);
      return config;
    }
    if (chosen === undefined) return config;
    if (typeof chosen === 'object') {
      // A fresh key, with plain-object headers or an upper-case method (hand-wired configs): as above, but
      // written through `writeHeader`, which knows plain objects.
      (config.resilience ??= {}).idempotencyKey = chosen.fresh;
      writeHeader(config, options.headerName, formatIdempotencyKey(chosen.fresh, options.format));
      return config;
    }
    const key = chosen;
    // Retries of one operation re-send the config axios already serialised; checking only the first
    // attempt means a retry can never be mistaken for a second operation under the same key.
    if (guard && (getResilience(config).attempt ?? 1) <= 1) guard.check(key, requestFingerprint(config));
    updateResilience(config, { idempotencyKey: key });
    const header = readHeader(config.headers, options.headerName);
    if (header !== key && header !== formatIdempotencyKey(key, options.format)) {
      writeHeader(config, options.headerName, formatIdempotencyKey(key, options.format));
    }
    return config;
  };
}

/**
 * The idempotency layer as raw interceptors: `instance.interceptors.request.use(...request)`. Prefer
 * `attachIdempotency`, which keeps the layer's place in the pipeline whatever the attach order.
 */
export function createIdempotencyInterceptors(options?: IdempotencyOptions): IdempotencyInterceptors {
  return { request: [createRequestHandler(resolveIdempotencyOptions(options))] };
}

/**
 * Gives every write one idempotency key per logical operation, sent on every attempt: generated before the
 * first attempt, reused by every retry, and never reused for a different request (the reuse guard).
 */
export function attachIdempotency(instance: AxiosInstance, options?: IdempotencyOptions): Attachment {
  if (typeof instance !== 'function' && (typeof instance !== 'object' || instance === null)) {
    throw optionError('instance', 'an axios instance', instance);
  }
  if (typeof (instance as Partial<AxiosInstance>).interceptors?.request?.use !== 'function') {
    throw optionError('instance', 'an axios instance', instance);
  }
  const resolved = resolveIdempotencyOptions(options);
  return registerLayer(
    instance,
    { name: 'idempotency', requestStage: REQUEST_STAGE.idempotency, request: createRequestHandler(resolved) },
    resolved.clock,
  );
}
