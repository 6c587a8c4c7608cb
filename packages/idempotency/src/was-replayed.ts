import { readHeader } from '@axios-resilience/core';
import type { AxiosResponse } from 'axios';

/**
 * True when the server answered from its idempotency store (`Idempotent-Replayed: true`, as Stripe does):
 * the operation had already run, and this response is the saved result of that first run.
 */
export function wasReplayed(response: Pick<AxiosResponse, 'headers'> | null | undefined): boolean {
  return readHeader(response?.headers, 'Idempotent-Replayed')?.trim().toLowerCase() === 'true';
}
