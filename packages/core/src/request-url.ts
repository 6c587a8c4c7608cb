import axios, { type AxiosRequestConfig } from 'axios';

/** The absolute URL a config will hit: baseURL joined, params serialised, exactly as axios builds it. */
export function requestUrl(config: AxiosRequestConfig): string {
  return axios.getUri(config);
}

/** The scheme, host and port a request goes to, or `'unknown'` when the URL is relative with no base. */
export function requestOrigin(config: AxiosRequestConfig): string {
  try {
    return new URL(requestUrl(config)).origin;
  } catch {
    return 'unknown';
  }
}
