/**
 * Layer 4: a dead-letter queue with redaction, durable sinks, alerts and safe replay.
 * @packageDocumentation
 * @module @axios-resilience/dlq
 */
export {
  attachDeadLetter,
  createDeadLetterInterceptors,
  type DeadLetterAttachment,
  type DeadLetterInterceptors,
} from './attach-dead-letter';
export {
  resolveDeadLetterOptions,
  defaultSink,
  DEFAULT_DEAD_LETTER_OPTIONS,
  DEFAULT_DEAD_LETTER_FILE,
  type DeadLetterOptions,
  type ResolvedDeadLetterOptions,
  type DeadLetterSinkErrorState,
} from './dead-letter-options';
export { shouldDeadLetter, ensureFailureSummary, type DecisionSettings } from './dead-letter-decision';
export {
  DEAD_LETTER_RECORD_VERSION,
  isDeadLetterRecord,
  type DeadLetterRecord,
  type DeadLetterErrorInfo,
  type DeadLetterReplayInfo,
  type BodyEncoding,
} from './record';
export {
  buildDeadLetterRecord,
  describeRequest,
  type BodyRedactor,
  type BodyRedactionState,
  type RecordSettings,
  type DescribedRequest,
} from './build-record';
export {
  SECRET_HEADER_NAMES,
  SECRET_NAME_PATTERN,
  REDACTED_MARK,
  isSecretHeaderName,
  isSecretQueryName,
  redactHeaderMap,
  redactUrl,
  scrubSecrets,
  type NameMatcher,
  type Redaction,
} from './redact';
export { redactedErrorView } from './redacted-error';
export {
  type DeadLetterSink,
  type ListOptions,
  type ClaimOptions,
  type LeasingSink,
  assertSink,
  isLeasingSink,
  sinkRecords,
} from './sink';
export { memorySink, type MemorySink } from './memory-sink';
export {
  fileSink,
  DEFAULT_FILE_SINK_OPTIONS,
  type FileSink,
  type FileSinkOptions,
  type FileSinkStats,
} from './file-sink';
export {
  upstashSink,
  DEFAULT_UPSTASH_SINK_KEY,
  type UpstashSink,
  type UpstashSinkOptions,
  type UpstashSinkClient,
} from './upstash-sink';
export {
  pgSink,
  pgSinkSchema,
  DEFAULT_PG_SINK_TABLE,
  type PgSink,
  type PgSinkOptions,
  type PgQueryable,
  type PgPoolSettings,
} from './pg-sink';
export {
  replay,
  replayRequest,
  replayRefusal,
  DEFAULT_REPLAY_OPTIONS,
  type ReplayOptions,
  type ReplaySummary,
  type ReplayResult,
  type ReplayOutcome,
  type ReplaySkipReason,
  type ReplayProgress,
} from './replay';
export {
  createDlqMonitor,
  sampleOf,
  DEFAULT_DLQ_MONITOR_OPTIONS,
  type DlqMonitor,
  type DlqMonitorOptions,
  type DlqAlert,
  type DlqCheck,
  type DeadLetterSample,
} from './monitor';
export {
  slackWebhookNotifier,
  formatDlqAlert,
  type SlackWebhookNotifierOptions,
  type FetchLike,
} from './slack-notifier';
