/**
 * The CPU probe of the cost benchmark (1a), run in a fresh process for each configuration and round: bare
 * axios and that one configuration, side by side on the stub adapter, taking turns batch by batch. A process
 * per pair keeps the measurement to what a service runs (one or two axios setups), where one process running
 * every configuration at once makes axios's own call sites see a dozen interceptor setups and measures that
 * instead. Driven over IPC (`measure`).
 */
import { costConfig, cpuOfBatch, immediateAdapter, sendRequest, type BenchMethod } from '../clients';
import { serveCommands } from '../child-process';
import type { CostProbeRequest, CostProbeResult } from './cost-probe-options';

const METHODS: BenchMethod[] = ['POST', 'GET'];

async function measure(request: CostProbeRequest): Promise<CostProbeResult> {
  const setup = { baseURL: 'http://api.test', adapter: immediateAdapter, directory: request.directory };
  const instances = [costConfig('bare axios').create(setup), costConfig(request.configuration).create(setup)];
  const warmUps = [request.bareWarmUp, request.warmUp];
  for (const [which, instance] of instances.entries()) {
    for (let index = 0; index < warmUps[which]; index++) await sendRequest(instance, 'POST', index);
    for (let index = 0; index < warmUps[which] / 2; index++) await sendRequest(instance, 'GET', index);
  }
  // Let the compiler and the concurrent collector finish what the warm-up started: their threads' CPU counts in
  // `process.cpuUsage()` and would land on whichever batch runs next.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const batches: CostProbeResult = { bare: { POST: [], GET: [] }, configuration: { POST: [], GET: [] } };
  let turn = 0;
  for (let done = 0; done < request.count; done += request.batch) {
    const size = Math.min(request.batch, request.count - done);
    for (const method of METHODS) {
      // Who goes first alternates, so neither always follows the other's garbage or cache state.
      const order = turn++ % 2 === 0 ? [0, 1] : [1, 0];
      for (const index of order) {
        const microseconds = await cpuOfBatch(instances[index], method, size, warmUps[index] + done);
        (index === 0 ? batches.bare : batches.configuration)[method].push(microseconds / size);
      }
    }
  }
  return batches;
}

serveCommands({ measure: (payload) => measure(payload as CostProbeRequest) });
