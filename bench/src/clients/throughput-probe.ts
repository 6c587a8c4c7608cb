/**
 * The throughput probe of the cost benchmark (1b), run in a fresh process for each configuration and round:
 * bare axios and that one configuration, each with its own keep-alive agent, sending POSTs to the plain server
 * (a process of its own) and taking turns batch by batch, so the two always meet the same machine. Driven over
 * IPC (`measure`).
 */
import http from 'node:http';
import type { AxiosInstance } from 'axios';
import { costConfig, sendRequest } from '../clients';
import { serveCommands } from '../child-process';
import { collectGarbage } from '../gc';
import type { ThroughputProbeRequest, ThroughputProbeResult, TimedBatch } from './cost-probe-options';

/** Opens `concurrency` keep-alive connections, so the timed batches run on warm sockets. */
async function openConnections(instance: AxiosInstance, concurrency: number): Promise<void> {
  await Promise.all(Array.from({ length: concurrency }, (_, index) => sendRequest(instance, 'POST', -1 - index)));
}

/** Sends `count` POSTs, `concurrency` at a time. */
async function timedBatch(
  instance: AxiosInstance,
  count: number,
  concurrency: number,
  offset: number,
): Promise<TimedBatch> {
  collectGarbage('young');
  let next = 0;
  const worker = async () => {
    while (next < count) await sendRequest(instance, 'POST', offset + next++);
  };
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedMicroseconds = (performance.now() - started) * 1000;
  const used = process.cpuUsage(cpu);
  return { elapsedMicroseconds, cpuMicroseconds: used.user + used.system };
}

async function measure(request: ThroughputProbeRequest): Promise<ThroughputProbeResult> {
  const agents = [0, 1].map(() => new http.Agent({ keepAlive: true, maxSockets: request.concurrency }));
  try {
    const instances = [costConfig('bare axios'), costConfig(request.configuration)].map((config, index) =>
      config.create({ baseURL: request.serverUrl, httpAgent: agents[index], directory: request.directory }),
    );
    for (const instance of instances) {
      await openConnections(instance, request.concurrency);
      for (let done = 0; done < request.warmUp; done += request.batch) {
        await timedBatch(instance, Math.min(request.batch, request.warmUp - done), request.concurrency, done);
      }
    }
    const result: ThroughputProbeResult = { bare: [], configuration: [] };
    for (let index = 0; index < request.batches; index++) {
      // Who goes first alternates, so neither always follows the other.
      const order = index % 2 === 0 ? [0, 1] : [1, 0];
      for (const which of order) {
        const timed = await timedBatch(
          instances[which],
          request.batch,
          request.concurrency,
          request.warmUp + index * request.batch,
        );
        (which === 0 ? result.bare : result.configuration).push(timed);
      }
    }
    return result;
  } finally {
    for (const agent of agents) agent.destroy();
  }
}

serveCommands({ measure: (payload) => measure(payload as ThroughputProbeRequest) });
