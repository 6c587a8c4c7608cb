import { requestMethod, requestUrl } from '@axios-resilience/core';
import type { AxiosRequestConfig } from 'axios';
import { bodyDigest } from './body-digest';

/** What one idempotency key stands for: the request it was first sent with. */
export interface RequestFingerprint {
  /** Upper-case HTTP method. */
  method: string;
  /** Absolute URL, baseURL joined and params serialised, as axios builds it. */
  url: string;
  /** A digest of the body (see `bodyDigest`); never the body itself. */
  body: string;
}

/** The fingerprint of a request config, as seen in a request interceptor. */
export function requestFingerprint(config: AxiosRequestConfig): RequestFingerprint {
  return { method: requestMethod(config), url: requestUrl(config), body: bodyDigest(config.data) };
}

/** Which parts of two fingerprints differ, in the order a reader would check them. */
export function fingerprintDifferences(first: RequestFingerprint, second: RequestFingerprint): string[] {
  const differences: string[] = [];
  if (first.method !== second.method) differences.push('method');
  if (first.url !== second.url) differences.push('URL');
  if (first.body !== second.body) differences.push('body');
  return differences;
}
