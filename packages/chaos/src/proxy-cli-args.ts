import { parseArgs } from 'node:util';
import { DEFAULT_FAULTS, type ChaosFault } from './fault';
import { DEFAULT_CHAOS_RATE } from './fault-picker';
import { parseFaultSpec } from './fault-spec';

export const PROXY_CLI_USAGE = `Usage: axios-resilience-chaos-proxy --target <url> [options]

A reverse proxy that injects faults in front of any HTTP API.

Options:
  --target <url>          the API to proxy to (required), e.g. http://127.0.0.1:3000
  --port <n>              port to listen on; 0 picks a free one (default 0)
  --host <address>        interface to listen on (default 127.0.0.1)
  --rate <0..1>           share of requests that get a fault (default 0.01)
  --seed <integer>        make the fault sequence reproducible
  --faults <list>         weighted faults, comma-separated name[=value][:weight] (default 429,503,reset)
                            429, 503=5       status (=value sets Retry-After seconds)
                            reset            connection reset, nothing forwarded
                            latency=200      added latency in ms, then forwarded
                            timeout=30000    no answer; connection reset after the ms given
                            drop, drop=timeout  forwarded, then the answer is lost
                          e.g. 429:1,503:1,reset:1,latency=200:1
  --quiet                 do not log each fault
  --allow-in-production   run even when NODE_ENV=production
  -h, --help              show this help`;

/** The CLI's flags, read and defaulted. `target` is set unless `help` is: help needs no target. */
export interface ProxyCliArguments {
  help: boolean;
  target?: string;
  port: number;
  host: string;
  rate: number;
  seed?: number;
  faults: readonly ChaosFault[];
  quiet: boolean;
  allowInProduction: boolean;
}

function parseNumberFlag(name: string, text: string | undefined, integer: boolean): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new TypeError(`--${name}: expected ${integer ? 'an integer' : 'a number'}, got ${JSON.stringify(text)}`);
  }
  return value;
}

/**
 * Reads the CLI's arguments. Throws a `TypeError` naming the flag at fault; values are checked again by
 * `createChaosProxy` (ranges, URL).
 */
export function parseProxyCliArguments(argv: readonly string[]): ProxyCliArguments {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      target: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      rate: { type: 'string' },
      seed: { type: 'string' },
      faults: { type: 'string' },
      quiet: { type: 'boolean' },
      'allow-in-production': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const help = values.help === true;
  if (!help && values.target === undefined)
    throw new TypeError('--target: required, e.g. --target http://127.0.0.1:3000');
  return {
    help,
    target: values.target,
    port: parseNumberFlag('port', values.port, true) ?? 0,
    host: values.host ?? '127.0.0.1',
    rate: parseNumberFlag('rate', values.rate, false) ?? DEFAULT_CHAOS_RATE,
    seed: parseNumberFlag('seed', values.seed, true),
    faults: values.faults === undefined ? DEFAULT_FAULTS : parseFaultSpec(values.faults),
    quiet: values.quiet === true,
    allowInProduction: values['allow-in-production'] === true,
  };
}
