// Prompt and completion text never leaves the agent unless both are true: the capture kept
// opt-in excerpts on the record, and the export was explicitly told to include them.
import type { CallRecord } from '../llm/records.ts';

export interface PrivacyOptions {
  /** Export the records' opt-in `excerpts` (default false: they are removed). */
  includeExcerpts?: boolean;
}

/** The record as it may leave the agent. Returns the same object when nothing has to go. */
export function exportableRecord<R extends CallRecord>(r: R, opts: PrivacyOptions = {}): R {
  if (opts.includeExcerpts === true || !('excerpts' in r)) return r;
  const copy = { ...r } as R & { excerpts?: unknown };
  delete copy.excerpts;
  return copy;
}
