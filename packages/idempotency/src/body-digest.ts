/**
 * A small, fast, non-cryptographic digest of a request body, so the reuse guard can tell "the same request
 * again" from "a different request under the same key" without keeping bodies in memory. FNV-1a 64 is
 * written out over four 16-bit lanes because the package must run in browsers (no `node:crypto`) and BigInt
 * arithmetic per byte would be needlessly slow.
 */

const encoder = new TextEncoder();

/** FNV-1a 64 of some bytes, as 16 lowercase hex digits. */
export function fnv1a64(bytes: Uint8Array): string {
  // Offset basis 0xcbf29ce484222325, lowest lane first.
  let lane0 = 0x2325;
  let lane1 = 0x8422;
  let lane2 = 0x9ce4;
  let lane3 = 0xcbf2;
  for (let index = 0; index < bytes.length; index += 1) {
    lane0 ^= bytes[index];
    // Multiply by the prime 0x100000001b3 = 2^40 + 0x1b3: the 2^40 part is a shift of lanes 0 and 1 by 8
    // bits into lanes 2 and 3. Every partial product stays below 2^31, so plain numbers are exact.
    const product0 = lane0 * 0x1b3;
    const product1 = lane1 * 0x1b3 + (product0 >>> 16);
    const product2 = lane2 * 0x1b3 + (lane0 << 8) + (product1 >>> 16);
    const product3 = lane3 * 0x1b3 + (lane1 << 8) + (product2 >>> 16);
    lane0 = product0 & 0xffff;
    lane1 = product1 & 0xffff;
    lane2 = product2 & 0xffff;
    lane3 = product3 & 0xffff;
  }
  return [lane3, lane2, lane1, lane0].map((lane) => lane.toString(16).padStart(4, '0')).join('');
}

/** FNV-1a 64 of a string's UTF-8 bytes. */
export function hashString(text: string): string {
  return fnv1a64(encoder.encode(text));
}

/** Bodies that can only be read by consuming them (streams) or whose content JSON cannot show (forms, blobs). */
function isOpaqueBody(value: object): boolean {
  const candidate = value as Record<string, unknown>;
  return (
    typeof candidate.pipe === 'function' ||
    typeof candidate.getReader === 'function' ||
    (typeof candidate.arrayBuffer === 'function' && typeof candidate.size === 'number') ||
    (typeof candidate.append === 'function' && typeof candidate.getAll === 'function')
  );
}

/**
 * JSON text compared by meaning rather than by spacing. axios sends a plain object as `JSON.stringify(data)`
 * and, on a retry, receives that string back as `config.data`; parsing and re-serialising makes both forms
 * give the same digest.
 */
function canonicalJson(text: string): string | undefined {
  const first = text.trimStart()[0];
  if (first !== '{' && first !== '[') return undefined;
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/**
 * A digest of what a request body says, stable between the caller's value on the first attempt and the
 * serialised value axios hands back on a retry:
 * - no body: `none`;
 * - a string: JSON text is canonicalised, any other text hashed as it is;
 * - any other object or array: its `JSON.stringify` (what axios sends for JSON);
 * - `URLSearchParams`: its serialised form;
 * - bytes (`ArrayBuffer`, typed arrays, `Buffer`, `DataView`): the bytes;
 * - anything that cannot be read without consuming it (streams, `FormData`, `Blob`): its type only.
 */
export function bodyDigest(data: unknown): string {
  if (data === undefined || data === null) return 'none';
  if (typeof data === 'string') return `text:${hashString(canonicalJson(data) ?? data)}`;
  if (typeof data === 'number' || typeof data === 'boolean') return `text:${hashString(JSON.stringify(data))}`;
  if (typeof data !== 'object') return `opaque:${typeof data}`;
  if (data instanceof ArrayBuffer) return `bytes:${fnv1a64(new Uint8Array(data))}`;
  if (ArrayBuffer.isView(data)) {
    return `bytes:${fnv1a64(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))}`;
  }
  if (typeof URLSearchParams !== 'undefined' && data instanceof URLSearchParams) {
    return `text:${hashString(data.toString())}`;
  }
  if (isOpaqueBody(data))
    return `opaque:${(data as { constructor?: { name?: string } }).constructor?.name ?? 'object'}`;
  try {
    return `text:${hashString(JSON.stringify(data))}`;
  } catch {
    return 'opaque:unserialisable';
  }
}
