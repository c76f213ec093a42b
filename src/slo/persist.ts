// Saves and loads the engine's state as one small JSON file, written atomically
// (temp file + fsync + rename) so a crash mid-write never leaves a torn file.
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './io.ts';
import type { PersistedState } from './engine.ts';

/** Where the agent keeps SLO state unless told otherwise; `llmslo slo status` reads it by default. */
export const DEFAULT_SLO_STATE_PATH = '/var/lib/llmslo/slo-state.json';

export class StateFileError extends Error {
  constructor(readonly path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = 'StateFileError';
  }
}

export async function saveStateFile(path: string, state: PersistedState): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(state), 0o600);
}

function isTriple(v: unknown): v is [number, number, number] {
  return Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0);
}

/** Reads a state file; null when it does not exist. A malformed file is an error naming the problem. */
export async function loadStateFile(path: string): Promise<PersistedState | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return null;
    throw new StateFileError(path, `cannot read: ${err instanceof Error ? err.message : String(err)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new StateFileError(path, `not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (raw === null || typeof raw !== 'object' || (raw as { schema?: unknown }).schema !== 'llmslo.slo_state/v1') {
    throw new StateFileError(path, "not an llmslo SLO state file (schema must be 'llmslo.slo_state/v1')");
  }
  const slos = (raw as { slos?: unknown }).slos;
  if (slos === null || typeof slos !== 'object' || Array.isArray(slos)) throw new StateFileError(path, 'slos must be a mapping');
  for (const [name, s] of Object.entries(slos as Record<string, unknown>)) {
    const o = s as Record<string, unknown> | null;
    if (
      o === null || typeof o !== 'object' || typeof o.fingerprint !== 'string' || typeof o.bucketMs !== 'number' ||
      !(o.coarseMs === null || typeof o.coarseMs === 'number') || !Array.isArray(o.fine) || !o.fine.every(isTriple) ||
      !Array.isArray(o.coarse) || !o.coarse.every(isTriple) || o.alerts === null || typeof o.alerts !== 'object'
    ) {
      throw new StateFileError(path, `slos.${name} is malformed`);
    }
  }
  return raw as PersistedState;
}
