import type { ClientRecord, RequestSpec, RunnerName } from '../types.ts';

export interface Runner {
  readonly name: RunnerName;
  run(spec: RequestSpec): Promise<ClientRecord>;
  close(): Promise<void>;
}
