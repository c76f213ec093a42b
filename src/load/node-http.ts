// fetch for the Node runners: the global fetch over plain HTTP, undici's fetch with an Agent
// trusting the simulator's CA over HTTPS. Both run TLS through Node's built-in OpenSSL.
import { readFileSync } from 'node:fs';
import { Agent, fetch as undiciFetch } from 'undici';

export type FetchFn = typeof globalThis.fetch;

const agents = new Map<string, Agent>();

export function fetchFor(caFile: string | null): FetchFn {
  if (!caFile) return globalThis.fetch;
  let agent = agents.get(caFile);
  if (!agent) {
    agent = new Agent({ connect: { ca: readFileSync(caFile, 'utf8') }, connections: 512, keepAliveTimeout: 30_000 });
    agents.set(caFile, agent);
  }
  const a = agent;
  return ((input: Parameters<FetchFn>[0], init?: Parameters<FetchFn>[1]) =>
    undiciFetch(input as Parameters<typeof undiciFetch>[0], { ...(init as Parameters<typeof undiciFetch>[1]), dispatcher: a })) as unknown as FetchFn;
}

export async function closeAgents(): Promise<void> {
  await Promise.all([...agents.values()].map((a) => a.close().catch(() => undefined)));
  agents.clear();
}
