import type { RunnerName } from '../types.ts';
import type { Runner } from './runner.ts';

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
