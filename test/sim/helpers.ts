// Starts an in-process simulator with a fast profile for tests.
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimProvider } from '../../src/sim/provider.ts';
import { parseProfile } from '../../src/sim/profile.ts';
import type { TruthRecord } from '../../src/sim/truth.ts';

export const FAST_PROFILE = {
  seed: 7,
  defaults: {
    ttft_ms: { dist: 'uniform', min: 5, max: 15 },
    itl_ms: { dist: 'uniform', min: 0.5, max: 2 },
    output_tokens: { dist: 'uniform', min: 8, max: 24 },
    headers_ms: 1,
    embed_ms: 2,
  },
};

export async function startSim(profile: unknown = FAST_PROFILE, tls?: import('../../src/sim/tls.ts').TlsMaterial) {
  const dir = mkdtempSync(join(tmpdir(), 'llmslo-simtest-'));
  const truthPath = join(dir, 'truth.jsonl');
  const sim = new SimProvider({ port: 0, host: '127.0.0.1', truthPath, profile: parseProfile(profile), tls });
  const url = await sim.start();
  return {
    sim,
    url,
    dir,
    async control(method: string, path: string, body?: unknown) {
      const res = await fetch(`${url}${path}`, { method, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    /** Stops the simulator and returns its ground truth. */
    async stop(): Promise<TruthRecord[]> {
      await sim.stop();
      if (!existsSync(truthPath)) return [];
      return readFileSync(truthPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as TruthRecord);
    },
  };
}
