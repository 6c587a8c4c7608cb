/**
 * Fault injection at the adapter: statuses, resets, latency, timeouts and dropped responses.
 * @packageDocumentation
 * @module @axios-resilience/chaos
 */
export { attachChaos, createChaosInterceptors } from './attach-chaos';
export {
  DEFAULT_CHAOS_OPTIONS,
  resolveChaosOptions,
  type ChaosOptions,
  type ChaosFaultState,
  type ResolvedChaosOptions,
} from './chaos-options';
export { createFaultPicker, DEFAULT_CHAOS_RATE, type FaultPicker, type FaultPickerOptions } from './fault-picker';
export {
  CHAOS_FAULT_KINDS,
  DEFAULT_FAULTS,
  describeFault,
  resolveFault,
  resolveFaults,
  type ChaosFault,
  type ChaosFaultKind,
  type StatusFault,
  type NetworkFault,
  type LatencyFault,
  type TimeoutFault,
  type DropResponseFault,
  type ResolvedChaosFault,
  type ResolvedStatusFault,
  type ResolvedNetworkFault,
  type ResolvedLatencyFault,
  type ResolvedTimeoutFault,
  type ResolvedDropResponseFault,
} from './fault';
export { getInjectedFault } from './fault-adapter';
export { parseFaultSpec } from './fault-spec';
export { seededRandom } from './seeded-random';
export { isProductionEnvironment } from './production-guard';
