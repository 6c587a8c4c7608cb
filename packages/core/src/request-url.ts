import { Axios, type AxiosRequestConfig } from 'axios';

/**
 * An instance with no defaults: `getUri` merges the config into the instance's defaults first, and the
 * global `axios` carries headers and transforms that make that merge cost several times more on every
 * request. The URL itself depends only on baseURL, url, params and the serializer.
 */
const bareAxios = new Axios({});

/** The absolute URL a config will hit: baseURL joined, params serialised, exactly as axios builds it. */
export function requestUrl(config: AxiosRequestConfig): string {
  return bareAxios.getUri({
    baseURL: config.baseURL,
    url: config.url,
    params: config.params,
    paramsSerializer: config.paramsSerializer,
    allowAbsoluteUrls: config.allowAbsoluteUrls,
  });
}

/** The scheme, host and port a request goes to, or `'unknown'` when the URL is relative with no base. */
export function requestOrigin(config: AxiosRequestConfig): string {
  try {
    return new URL(requestUrl(config)).origin;
  } catch {
    return 'unknown';
  }
}
