import type { ClientRecord, RequestSpec, RunnerName } from '../types.ts';
import type { Runner } from './runner.ts';

/** Several runners taking requests in turn (by sequence number), e.g. Node and libssl clients at once. */
export class RoundRobinRunner implements Runner {
  readonly name: RunnerName;
  constructor(private readonly runners: Runner[]) {
    this.name = runners[0].name;
  }
  run(spec: RequestSpec): Promise<ClientRecord> {
    return this.runners[spec.seq % this.runners.length].run(spec);
  }
  async close(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.close()));
  }
}

export const RUNNERS: RunnerName[] = ['openai', 'anthropic', 'fetch', 'python', 'curl'];

export async function makeRunner(name: RunnerName, threads = 64): Promise<Runner> {
  switch (name) {
    case 'openai':
      return new (await import('./openai.ts')).OpenAIRunner();
    case 'anthropic':
      return new (await import('./anthropic.ts')).AnthropicRunner();
    case 'fetch':
      return new (await import('./fetch.ts')).FetchRunner();
    case 'python':
      return new (await import('./python.ts')).PythonRunner(threads);
    case 'curl':
      return new (await import('./curl.ts')).CurlRunner();
  }
}

/** APIs each runner speaks. */
export const RUNNER_APIS: Record<RunnerName, string[]> = {
  openai: ['chat', 'responses', 'embeddings'],
  anthropic: ['messages'],
  fetch: ['chat', 'responses', 'embeddings', 'messages', 'gemini', 'ollama', 'rag'],
  python: ['chat', 'responses', 'embeddings', 'messages', 'gemini', 'ollama', 'rag'],
  curl: ['chat', 'responses', 'embeddings', 'messages', 'gemini', 'ollama', 'rag'],
};
