import type { ChaosFault } from './fault';

const STATUS_PATTERN = /^[45]\d\d$/;
const NUMBER_PATTERN = /^\d+(\.\d+)?$/;

function specError(entry: string, expected: string): TypeError {
  return new TypeError(`faults: cannot read ${JSON.stringify(entry)}: expected ${expected}`);
}

function parseNumber(entry: string, value: string, what: string): number {
  if (!NUMBER_PATTERN.test(value)) throw specError(entry, `${what} as a number`);
  return Number(value);
}

function parseEntry(entry: string): ChaosFault {
  const [head, weightText, ...extra] = entry.split(':');
  if (extra.length > 0) throw specError(entry, 'at most one ":weight"');
  const [name, value, ...rest] = head.split('=');
  if (rest.length > 0) throw specError(entry, 'at most one "=value"');
  const weight = weightText === undefined ? undefined : parseNumber(entry, weightText, 'the weight');
  const withWeight = <T extends ChaosFault>(fault: T): T => (weight === undefined ? fault : { ...fault, weight });
  const lower = name.toLowerCase();

  if (STATUS_PATTERN.test(lower)) {
    const fault: ChaosFault = { kind: 'status', status: Number(lower) };
    if (value !== undefined) fault.retryAfter = parseNumber(entry, value, 'Retry-After seconds');
    return withWeight(fault);
  }
  switch (lower) {
    case 'reset':
    case 'econnreset':
      if (value !== undefined) throw specError(entry, 'no value after "reset"');
      return withWeight({ kind: 'network', code: 'ECONNRESET' });
    case 'network':
      return withWeight(value === undefined ? { kind: 'network' } : { kind: 'network', code: value.toUpperCase() });
    case 'latency':
    case 'timeout':
      return withWeight(
        value === undefined ? { kind: lower } : { kind: lower, ms: parseNumber(entry, value, 'milliseconds') },
      );
    case 'drop':
    case 'drop-response': {
      if (value === undefined) return withWeight({ kind: 'drop-response' });
      if (value !== 'reset' && value !== 'timeout') throw specError(entry, '"reset" or "timeout" after "drop="');
      return withWeight({ kind: 'drop-response', error: value });
    }
    default:
      throw specError(entry, 'a status (429, 503, ...), reset, network, latency, timeout or drop');
  }
}

/**
 * Reads a compact fault list, as the CLI's `--faults` takes it and as fits in an environment variable:
 * comma-separated `name[=value][:weight]` entries.
 * - `429`, `503=5`: a status fault (`=` sets `Retry-After` seconds; 429 sends 1 unless told otherwise)
 * - `reset`: a connection reset (`network=ECONNREFUSED` for another code, in process)
 * - `latency=200`: 200 ms of added latency; `timeout`, `timeout=5000`: a hang
 * - `drop`, `drop=timeout`: the server processes the request, the answer is lost
 *
 * `429:2,503:1,reset:1,latency=200:1` draws a 429 twice as often as each of the others. Throws a
 * `TypeError` naming the entry it could not read.
 */
export function parseFaultSpec(spec: string): ChaosFault[] {
  const entries = spec
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  if (entries.length === 0) throw new TypeError('faults: expected at least one fault, got an empty list');
  return entries.map(parseEntry);
}
