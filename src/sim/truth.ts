// Ground truth of one request as the simulator served it: server-side timestamps of the
// request, headers and every chunk, the fault applied, and the error class an observer
// should report. Joined to agent records by request_id (sent as x-request-id / request-id).
import type { Stamp } from './clock.ts';

export const TRUTH_SCHEMA = 'llmslo.sim_truth/v1';

export type Outcome = 'ok' | 'error_status' | 'stream_error' | 'stream_interrupted' | 'connection_reset' | 'client_closed';

export interface TruthChunk {
  mono_ns: number;
  wall_ms: number;
  /** meta: role/start events without content; content: carries output tokens; end: terminal events; error: error event. */
  kind: 'meta' | 'content' | 'end' | 'error';
  tokens: number;
  bytes: number;
}

export interface TruthRecord {
  schema: typeof TRUTH_SCHEMA;
  request_id: string;
  api: string;
  provider: string;
  operation: string;
  method: string;
  path: string;
  model: string | null;
  stream: boolean;
  include_usage: boolean;
  tls: boolean;
  client: { address: string | null; port: number | null };
  server_port: number | null;
  traceparent: string | null;
  retry_count: number | null;
  received: Stamp;
  slot: Stamp | null;
  queue_ms: number | null;
  headers: Stamp | null;
  first_chunk: Stamp | null;
  first_token: Stamp | null;
  end: Stamp | null;
  status: number | null;
  fault: string | null;
  fault_id: number | null;
  /** What DESIGN.md's error.type should be for this call, null when it succeeded. */
  expected_error_type: string | null;
  outcome: Outcome;
  usage: { input_tokens: number; output_tokens: number } | null;
  planned_output_tokens: number | null;
  /** Sampled from the profile: ms from taking the slot to headers and to the first token. */
  planned_headers_ms: number | null;
  planned_ttft_ms: number | null;
  /** How late the timer wheel delivered the scheduled chunks (scheduling fidelity), ms. */
  lateness_ms: { mean: number; max: number } | null;
  content_chunks: number;
  chunks: TruthChunk[];
}
