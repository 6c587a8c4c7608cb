export {
  startTestServer,
  listenOnLoopback,
  readBody,
  sendJson,
  type TestServer,
  type TestHandler,
  type RecordedRequest,
} from './http-server';
export { stubAdapter, type StubAdapter, type StubHandler, type StubReply } from './stub-adapter';
export {
  startFlakyApi,
  type FlakyApi,
  type FlakyApiOptions,
  type FlakyApiStats,
  type FlakyCharge,
  type FlakyFault,
  type FlakyFaultKind,
  type FlakyFaultRates,
  type FlakyOutcome,
  type FlakyRateLimit,
  type FlakyRequest,
  type FlakyScriptStep,
} from './flaky-api';
export { seededRandom, mulberry32 } from './seeded-random';
export { startRedisServer, type RedisServer, type StartRedisServerOptions } from './redis-server';
export {
  startUpstashBridge,
  stripUnknownScriptFlags,
  type UpstashBridge,
  type UpstashBridgeOptions,
  type UpstashBridgeStats,
} from './upstash-bridge';
export { freePort } from './free-port';
export { startPostgres, type PostgresServer } from './postgres-server';
export { bundleForBrowser, chromiumExecutable, CHROMIUM_ARGS, type BrowserBundle, type BundleOptions } from './browser';
export {
  runChargeSoak,
  auditLedger,
  type ChargeSoakOptions,
  type ChargeSoakResult,
  type SoakOperation,
  type SoakOutcome,
  type LedgerAudit,
} from './charge-soak';
export { REPO_ROOT, spawnTsx, runTsx, type TsxProcessOptions, type TsxResult } from './tsx-process';
