import { Axios, type AxiosRequestConfig } from 'axios';

/**
 * An instance with no defaults: `getUri` merges the config into the instance's defaults first, and the
 * global `axios` carries headers and transforms that make that merge cost several times more on every
 * request. The URL itself depends only on baseURL, url, params and the serializer.
 */
const bareAxios = new Axios({});

function buildUrl(config: AxiosRequestConfig): string {
  return bareAxios.getUri({
    baseURL: config.baseURL,
    url: config.url,
    params: config.params,
    paramsSerializer: config.paramsSerializer,
    allowAbsoluteUrls: config.allowAbsoluteUrls,
  });
}

/**
 * URLs already built for requests without params, where the URL follows from baseURL, url and
 * allowAbsoluteUrls alone. Bounded: cleared when full, as most services send to a few fixed paths. The
 * idempotency reuse guard builds a URL for every write with a caller's key, and `getUri` costs several µs.
 */
const joinedUrls = new Map<string, string>();
const MAX_CACHED_URLS = 256;

/** The cache key of a config whose URL needs no params, or undefined when the config has another shape. */
function joinKey(config: AxiosRequestConfig): string | undefined {
  const { baseURL, url, params, allowAbsoluteUrls } = config;
  if (params !== undefined && params !== null) return undefined;
  if (baseURL !== undefined && typeof baseURL !== 'string') return undefined;
  if (url !== undefined && typeof url !== 'string') return undefined;
  if (allowAbsoluteUrls !== undefined && typeof allowAbsoluteUrls !== 'boolean') return undefined;
  // The lengths keep the key unambiguous whatever characters the two strings hold; -1 marks "not given".
  return `${allowAbsoluteUrls}|${baseURL?.length ?? -1}|${url?.length ?? -1}|${baseURL ?? ''}${url ?? ''}`;
}

/** The absolute URL a config will hit: baseURL joined, params serialised, exactly as axios builds it. */
export function requestUrl(config: AxiosRequestConfig): string {
  const key = joinKey(config);
  if (key === undefined) return buildUrl(config);
  let url = joinedUrls.get(key);
  if (url !== undefined) return url;
  // A URL axios refuses throws here, every time: only built URLs are kept.
  url = buildUrl(config);
  if (joinedUrls.size >= MAX_CACHED_URLS) joinedUrls.clear();
  joinedUrls.set(key, url);
  return url;
}

/**
 * An http(s) URL up to the end of its (non-empty) authority. The WHATWG parser decides the origin from
 * this part alone (whatever follows the first `/`, `?` or `#` cannot change it), so parsing the prefix
 * gives the same origin as parsing the whole URL.
 */
const HTTP_AUTHORITY = /^https?:\/\/[^/?#]+/i;
/**
 * A relative URL axios joins to `baseURL` as it is: a path, a query or a fragment, with no scheme, no
 * leading space or control character, and no backslash before its first `/`, `?` or `#`.
 */
const PLAIN_RELATIVE = /^(?:\/(?!\/)|[?#]|[^:/?#\s\\]+(?:[/?#]|$)|$)/;
/** Origins already parsed, by authority prefix. Bounded: cleared when full, as a service talks to few hosts. */
const origins = new Map<string, string>();
const MAX_CACHED_ORIGINS = 256;

function originOfAuthority(prefix: string): string {
  let origin = origins.get(prefix);
  if (origin !== undefined) return origin;
  try {
    origin = new URL(prefix).origin;
  } catch {
    origin = 'unknown';
  }
  if (origins.size >= MAX_CACHED_ORIGINS) origins.clear();
  origins.set(prefix, origin);
  return origin;
}

const SLASH = 0x2f;
/** The last http(s) baseURL a relative url was joined to, and its origin: the fast path of `requestOrigin`. */
let lastPathBase: string | undefined;
let lastPathBaseOrigin = '';

/** The authority prefix the request's origin follows from, when the config has one of the usual shapes. */
function usualAuthority(config: AxiosRequestConfig): string | undefined {
  const { baseURL, url, allowAbsoluteUrls } = config;
  if (allowAbsoluteUrls !== undefined && typeof allowAbsoluteUrls !== 'boolean') return undefined;
  const urlAuthority = typeof url === 'string' ? HTTP_AUTHORITY.exec(url) : null;
  const plainRelative = url === undefined || (typeof url === 'string' && !urlAuthority && PLAIN_RELATIVE.test(url));
  if (!urlAuthority && !plainRelative) return undefined;
  const joinsBase = typeof baseURL === 'string' && baseURL !== '' && (plainRelative || allowAbsoluteUrls === false);
  if (!joinsBase) return urlAuthority?.[0];
  return HTTP_AUTHORITY.exec(baseURL)?.[0];
}

/**
 * The scheme, host and port a request goes to, or `'unknown'` when the URL is relative with no base.
 * Called on every request by the rate limiter's default key, so the usual shapes (a relative `url` under
 * an http(s) `baseURL`, or an absolute http(s) `url`) are answered from the authority alone, parsed once;
 * anything else builds the full URL the way axios does.
 */
export function requestOrigin(config: AxiosRequestConfig): string {
  const { baseURL, url, allowAbsoluteUrls } = config;
  // A path (PLAIN_RELATIVE's first branch: one `/`, not two) joins any string baseURL, so under an http(s)
  // baseURL its origin is that baseURL's: the commonest shape of all is answered without either pattern.
  const isPath =
    typeof url === 'string' &&
    url.charCodeAt(0) === SLASH &&
    url.charCodeAt(1) !== SLASH &&
    (allowAbsoluteUrls === undefined || typeof allowAbsoluteUrls === 'boolean');
  if (isPath && lastPathBase !== undefined && baseURL === lastPathBase) return lastPathBaseOrigin;
  const authority = usualAuthority(config);
  if (authority !== undefined) {
    const origin = originOfAuthority(authority);
    // Here a path's authority is the baseURL's own (a path always joins a non-empty string baseURL).
    if (isPath && typeof baseURL === 'string' && baseURL !== '') {
      lastPathBase = baseURL;
      lastPathBaseOrigin = origin;
    }
    return origin;
  }
  try {
    return new URL(requestUrl(config)).origin;
  } catch {
    return 'unknown';
  }
}
