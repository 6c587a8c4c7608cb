/**
 * The throughput probe of the cost benchmark (1b), run in a fresh process for each configuration and round:
 * bare axios and that one configuration, each with its own keep-alive agent, sending POSTs to the plain server
 * (a process of its own) and taking turns batch by batch, so the two always meet the same machine. Driven over
 * IPC (`measure`).
 */
import http from 'node:http';
import { Session } from 'node:inspector/promises';
import type { AxiosInstance } from 'axios';
import { costConfig, sendRequest } from '../clients';
import { serveCommands } from '../child-process';
import { collectGarbage } from '../gc';
import type { FunctionCounts, ThroughputProbeRequest, ThroughputProbeResult, TimedBatch } from './cost-probe-options';

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

/** POSTs per instance whose function calls are counted, unless the request says otherwise. */
const COUNTED_POSTS = 200;

/**
 * The functions a POST runs: how many bare axios's POSTs each call (at least once per request), and how many the
 * configuration's POSTs each call that bare axios's never do, the code a request runs through beyond bare's.
 * Counted with V8's precise coverage, which makes V8 drop optimised code, so it runs after the timed batches.
 */
async function countFunctions(instances: AxiosInstance[], request: ThroughputProbeRequest): Promise<FunctionCounts> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.startPreciseCoverage', { callCount: true, detailed: false });
    const counted = request.countedPosts ?? COUNTED_POSTS;
    /** Each function's calls during `counted` POSTs of `instance`. */
    const callsBy = async (instance: AxiosInstance): Promise<Map<string, number>> => {
      // Taking the coverage resets the counts, so the next take holds only this instance's POSTs.
      await session.post('Profiler.takePreciseCoverage');
      // Past every index the timed batches used, so a caller's key (one per index) is never sent twice.
      await timedBatch(instance, counted, request.concurrency, request.warmUp + request.batches * request.batch);
      const { result } = await session.post('Profiler.takePreciseCoverage');
      const calls = new Map<string, number>();
      for (const script of result) {
        for (const fn of script.functions)
          calls.set(`${script.scriptId}:${fn.ranges[0].startOffset}`, fn.ranges[0].count);
      }
      return calls;
    };
    const everyRequest = (calls: Map<string, number>) =>
      [...calls].filter(([, count]) => count >= counted).map(([fn]) => fn);
    const byBare = await callsBy(instances[0]);
    const byConfiguration = await callsBy(instances[1]);
    return {
      bare: everyRequest(byBare).length,
      beyondBare: everyRequest(byConfiguration).filter((fn) => !(byBare.get(fn) ?? 0)).length,
    };
  } finally {
    await session.post('Profiler.stopPreciseCoverage');
    session.disconnect();
  }
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
    if (request.countFunctions) result.functions = await countFunctions(instances, request);
    return result;
  } finally {
    for (const agent of agents) agent.destroy();
  }
}

serveCommands({ measure: (payload) => measure(payload as ThroughputProbeRequest) });
