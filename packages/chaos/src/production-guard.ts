import { ResilienceError } from '@axios-resilience/core';

/** True when `NODE_ENV` is `production`. Browsers without a `process` global are never production here. */
export function isProductionEnvironment(): boolean {
  return typeof process !== 'undefined' && process?.env?.NODE_ENV === 'production';
}

/**
 * Chaos makes real failures on purpose, so a stray staging config must not switch it on in production.
 * Throws `ERR_CHAOS_REFUSED` unless the caller opted in.
 */
export function refuseInProduction(what: string, allowInProduction: boolean): void {
  if (allowInProduction || !isProductionEnvironment()) return;
  throw new ResilienceError(
    'ERR_CHAOS_REFUSED',
    `${what} refused to start: NODE_ENV is "production" and chaos injects real failures. ` +
      'Pass allowInProduction: true to run it here on purpose.',
  );
}
