import type { ResilienceConfig } from './state';

declare module 'axios' {
  interface AxiosRequestConfig {
    /** Per-request overrides and the state the resilience layers keep for one logical operation. */
    resilience?: ResilienceConfig;
  }
}

export {};
