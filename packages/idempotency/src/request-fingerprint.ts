import { requestMethod } from '@axios-resilience/core';
import { Axios, type AxiosRequestConfig } from 'axios';
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

/**
 * An axios with no defaults, used only to build URLs. `axios.getUri(config)` (behind core's `requestUrl`)
 * first merges the whole config into the global defaults, headers included, which costs about 30 µs a
 * call; a config seen by a request interceptor is already merged, so building the URL from the fields that
 * shape it gives the same string in a sixth of the time.
 */
const urlBuilder = new Axios({});

/** The absolute URL a request config will hit, exactly as axios builds it. */
export function fingerprintUrl(config: AxiosRequestConfig): string {
  return urlBuilder.getUri({
    url: config.url,
    baseURL: config.baseURL,
    params: config.params,
    paramsSerializer: config.paramsSerializer,
    allowAbsoluteUrls: config.allowAbsoluteUrls,
  });
}

/** The fingerprint of a request config, as seen in a request interceptor. */
export function requestFingerprint(config: AxiosRequestConfig): RequestFingerprint {
  return { method: requestMethod(config), url: fingerprintUrl(config), body: bodyDigest(config.data) };
}

/** Which parts of two fingerprints differ, in the order a reader would check them. */
export function fingerprintDifferences(first: RequestFingerprint, second: RequestFingerprint): string[] {
  const differences: string[] = [];
  if (first.method !== second.method) differences.push('method');
  if (first.url !== second.url) differences.push('URL');
  if (first.body !== second.body) differences.push('body');
  return differences;
}
