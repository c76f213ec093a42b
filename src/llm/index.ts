// Public surface of the protocol layer: StreamEvents in, call records out.
export { createCallPipeline, DEFAULT_PIPELINE_LIMITS, monotonicToEpochMs } from './pipeline.ts';
export type { CallPipeline, PipelineLimits, PipelineOptions, PipelineStats } from './pipeline.ts';
export { ERROR_TYPES, LLM_CALL_SCHEMA, RETRIEVAL_CALL_SCHEMA } from './records.ts';
export type { CallRecord, CallTimestamps, ErrorType, GapStats, LlmCallRecord, Operation, RateLimitInfo, RetrievalCallRecord } from './records.ts';
export { classifyError, extractProviderError } from './errors.ts';
