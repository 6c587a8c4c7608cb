/**
 * A small, fast, non-cryptographic digest of a request body, so the reuse guard can tell "the same request
 * again" from "a different request under the same key" without keeping bodies in memory. FNV-1a 64 is
 * written out over two 32-bit halves because the package must run in browsers (no `node:crypto`) and BigInt
 * arithmetic per byte would be needlessly slow.
 */

const encoder = new TextEncoder();

/** Bodies up to this many UTF-16 units are encoded into one reused buffer instead of a fresh array each. */
const SCRATCH_UNITS = 4096;
// UTF-8 takes at most 3 bytes per UTF-16 unit (a surrogate pair: 4 bytes for 2 units).
const scratch = new Uint8Array(SCRATCH_UNITS * 3);

/** FNV-1a 64 of the first `length` bytes, as 16 lowercase hex digits. */
function fnv1a64Prefix(bytes: Uint8Array, length: number): string {
  // Offset basis 0xcbf29ce484222325 as two 32-bit halves.
  let high = 0xcbf29ce4;
  let low = 0x84222325;
  for (let index = 0; index < length; index += 1) {
    low = (low ^ bytes[index]) >>> 0;
    // Multiply by the prime 0x100000001b3 = 2^40 + 0x1b3, modulo 2^64. low * 0x1b3 stays below 2^41, exact
    // in a double; its part above 32 bits carries into the high half, which also gains low << 8 (the 2^40
    // term). Math.imul keeps high * 0x1b3 to its low 32 bits, all the high half can hold.
    const lowProduct = low * 0x1b3;
    high = (Math.imul(high, 0x1b3) + Math.floor(lowProduct / 0x100000000) + (low << 8)) >>> 0;
    low = lowProduct >>> 0;
  }
  return high.toString(16).padStart(8, '0') + low.toString(16).padStart(8, '0');
}

/** FNV-1a 64 of some bytes, as 16 lowercase hex digits. */
export function fnv1a64(bytes: Uint8Array): string {
  return fnv1a64Prefix(bytes, bytes.length);
}

/** FNV-1a 64 of a string's UTF-8 bytes. */
export function hashString(text: string): string {
  if (text.length > SCRATCH_UNITS) return fnv1a64(encoder.encode(text));
  // Synchronous from encoding to hashing, so no other caller can write to the buffer in between.
  const { written } = encoder.encodeInto(text, scratch);
  return fnv1a64Prefix(scratch, written);
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
