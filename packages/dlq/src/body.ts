import type { BodyEncoding } from './record';

/**
 * Request bodies as records keep them: the exact bytes axios sent, as text when they were text and as
 * base64 when they were bytes, so a replay can send them again unchanged. Browser-safe (no `Buffer`
 * required).
 */

const encoder = new TextEncoder();

type BufferLike = { from(input: Uint8Array | string, encoding?: string): { toString(encoding: string): string } };

function nodeBuffer(): BufferLike | undefined {
  const candidate = (globalThis as { Buffer?: BufferLike }).Buffer;
  return typeof candidate?.from === 'function' ? candidate : undefined;
}

export function bytesToBase64(bytes: Uint8Array): string {
  const buffer = nodeBuffer();
  if (buffer) return buffer.from(bytes).toString('base64');
  let binary = '';
  const chunk = 0x8000;
  for (let index = 0; index < bytes.length; index += chunk) {
    binary += String.fromCharCode(...bytes.subarray(index, index + chunk));
  }
  return btoa(binary);
}

export function base64ToBytes(base64: string): Uint8Array {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index += 1) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

export function utf8ByteLength(text: string): number {
  return encoder.encode(text).byteLength;
}

/** The longest prefix of `text` whose UTF-8 form fits in `maxBytes`, never splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = encoder.encode(text);
  if (bytes.byteLength <= maxBytes) return text;
  let end = maxBytes;
  // Step back over continuation bytes (10xxxxxx) so the cut falls between characters.
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end -= 1;
  return new TextDecoder().decode(bytes.subarray(0, end));
}

/** A request body as a record holds it, before redaction and truncation. */
export type CapturedBody =
  | { kind: 'none' }
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; bytes: Uint8Array }
  /** A stream, `FormData`, `Blob` or other value whose bytes cannot be read without consuming it. */
  | { kind: 'unsupported'; type: string };

/** Classifies `config.data` as axios handed it to the adapter (after `transformRequest`). */
export function captureBody(data: unknown): CapturedBody {
  if (data === undefined || data === null) return { kind: 'none' };
  if (typeof data === 'string') return { kind: 'text', text: data };
  if (data instanceof ArrayBuffer) return { kind: 'bytes', bytes: new Uint8Array(data.slice(0)) };
  if (ArrayBuffer.isView(data)) {
    return { kind: 'bytes', bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice() };
  }
  const type = typeof data === 'object' ? ((data as object).constructor?.name ?? 'object') : typeof data;
  return { kind: 'unsupported', type };
}

/** How a body ends up in a record. */
export interface StoredBody {
  body: string | null;
  bodyEncoding: BodyEncoding | null;
  truncated: boolean;
}

/** Text stays text; bytes become base64. Anything past `maxBytes` is cut and reported as truncated. */
export function storeBody(captured: CapturedBody, maxBytes: number): StoredBody {
  switch (captured.kind) {
    case 'none':
    case 'unsupported':
      return { body: null, bodyEncoding: null, truncated: false };
    case 'text': {
      const truncated = utf8ByteLength(captured.text) > maxBytes;
      return {
        body: truncated ? truncateUtf8(captured.text, maxBytes) : captured.text,
        bodyEncoding: 'utf8',
        truncated,
      };
    }
    case 'bytes': {
      const truncated = captured.bytes.byteLength > maxBytes;
      const kept = truncated ? captured.bytes.subarray(0, maxBytes) : captured.bytes;
      return { body: bytesToBase64(kept), bodyEncoding: 'base64', truncated };
    }
  }
}

/**
 * The body to hand axios on replay: the same string (sent as its UTF-8 bytes) or an `ArrayBuffer` with the
 * same bytes (axios's Node adapter refuses a bare `Uint8Array`).
 */
export function replayBody(body: string | null, encoding: BodyEncoding | null): string | ArrayBuffer | undefined {
  if (body === null) return undefined;
  if (encoding === 'base64') {
    const bytes = base64ToBytes(body);
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }
  return body;
}
