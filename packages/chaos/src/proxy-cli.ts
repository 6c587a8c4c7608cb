#!/usr/bin/env node
import { describeFault } from './fault';
import { createChaosProxy } from './proxy';
import { parseProxyCliArguments, PROXY_CLI_USAGE, type ProxyCliArguments } from './proxy-cli-args';

async function main(argv: readonly string[]): Promise<void> {
  let args: ProxyCliArguments;
  try {
    args = parseProxyCliArguments(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${PROXY_CLI_USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (args.help) {
    process.stdout.write(`${PROXY_CLI_USAGE}\n`);
    return;
  }

  const proxy = await createChaosProxy({
    target: args.target as string,
    port: args.port,
    host: args.host,
    rate: args.rate,
    faults: args.faults,
    seed: args.seed,
    allowInProduction: args.allowInProduction,
    onFault: args.quiet
      ? undefined
      : ({ fault, method, url }) => {
          process.stdout.write(`fault ${describeFault(fault)}: ${method} ${url}\n`);
        },
  });
  process.stdout.write(
    `chaos proxy listening on ${proxy.url} -> ${args.target} (rate ${args.rate}${args.seed === undefined ? '' : `, seed ${args.seed}`})\n`,
  );

  const stop = (signal: NodeJS.Signals) => {
    process.stdout.write(
      `${signal}: closing after ${proxy.stats.requests} requests, ${Object.values(proxy.stats.faults).reduce((a, b) => a + b, 0)} faults\n`,
    );
    proxy.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`chaos proxy: ${message}\n`);
  process.exit(error instanceof TypeError ? 2 : 1);
});
