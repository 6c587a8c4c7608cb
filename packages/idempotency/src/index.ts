/**
 * Layer 2: one idempotency key per logical operation, reused on every retry and replay.
 * @packageDocumentation
 * @module @axios-resilience/idempotency
 */
export { attachIdempotency, createIdempotencyInterceptors, type IdempotencyInterceptors } from './attach-idempotency';
export {
  resolveIdempotencyOptions,
  DEFAULT_IDEMPOTENCY_OPTIONS,
  defaultGenerateKey,
  type IdempotencyOptions,
  type ResolvedIdempotencyOptions,
  type GenerateKey,
} from './idempotency-options';
export { wasReplayed } from './was-replayed';
export {
  createReuseGuard,
  resolveReuseGuardOptions,
  DEFAULT_REUSE_GUARD_OPTIONS,
  type ReuseGuard,
  type ReuseGuardOptions,
  type ResolvedReuseGuardOptions,
} from './reuse-guard';
export { requestFingerprint, type RequestFingerprint } from './request-fingerprint';
export { bodyDigest } from './body-digest';
export {
  formatIdempotencyKey,
  parseIdempotencyKeyHeader,
  assertValidIdempotencyKey,
  type IdempotencyKeyFormat,
} from './idempotency-key';
export { IdempotencyKeyReusedError, isIdempotencyKeyReusedError } from '@axios-resilience/core';
