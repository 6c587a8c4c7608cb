import { getFailureSummary } from '@axios-resilience/core';
import type { DescribedRequest } from './build-record';
import { scrubSecrets } from './redact';

/**
 * axios's `error.toJSON()` serialises the whole request config, credentials included (axios #6919), and
 * loggers call it. A failure that passed the dead-letter stage gets an own `toJSON()` that shows the
 * request the way the record does; `error.config` itself is left intact for the caller.
 */

type ErrorFields = {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  status?: unknown;
  stack?: unknown;
  key?: unknown;
  config?: { timeout?: unknown };
};

function describeSinkError(error: unknown): unknown {
  if (error === undefined) return undefined;
  if (typeof error === 'object' && error !== null) {
    const { name, code, message } = error as { name?: unknown; code?: unknown; message?: unknown };
    return { name, code, message };
  }
  return String(error);
}

/** The redacted plain view of a failed request's error. */
export function redactedErrorView(error: unknown, request: DescribedRequest): Record<string, unknown> {
  const fields = error as ErrorFields;
  const scrub = (value: unknown) => (typeof value === 'string' ? scrubSecrets(value, request.secrets) : value);
  const summary = getFailureSummary(error);
  return {
    message: scrub(fields.message),
    name: fields.name,
    code: fields.code,
    status: fields.status,
    ...(typeof fields.key === 'string' ? { key: scrub(fields.key) } : {}),
    stack: scrub(fields.stack),
    config: {
      method: request.method.toLowerCase(),
      url: request.url,
      headers: request.headers,
      timeout: fields.config?.timeout,
    },
    redacted: request.removed,
    resilience: summary && {
      ...summary,
      deadLetterError: describeSinkError(summary.deadLetterError),
    },
  };
}

/** Gives this one error object a redacted `toJSON()`; its prototype and `config` stay as they were. */
export function installRedactedToJSON(error: unknown, request: DescribedRequest): void {
  if (typeof error !== 'object' || error === null) return;
  try {
    Object.defineProperty(error, 'toJSON', {
      value: () => redactedErrorView(error, request),
      enumerable: false,
      configurable: true,
      writable: true,
    });
  } catch {
    // A frozen error cannot take the property; its own toJSON (if any) is all there is.
  }
}
