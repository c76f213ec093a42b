// Agent configuration: one YAML file, validated on load (errors name the field), environment
// overrides, and defaults such that `llmslo run` with no flags works.
//
// Environment overrides use LLMSLO_<PATH> with `__` between levels, e.g.
//   LLMSLO_CAPTURE__PAYLOAD_CAP=32768  LLMSLO_OUTPUTS__JSONL__PATH=-
// and the standard OTEL_EXPORTER_OTLP_ENDPOINT sets outputs.otlp.endpoint.
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { cgroupPathProblem } from '../capture/cgroups.ts';
import type { MirroredServerMode } from '../llm/mirror.ts';

export interface AgentConfig {
  capture: {
    payload_cap: number;
    ring_mb: number;
    /** Bytes (KiB) waiting in the ring before the kernel wakes the agent; 0: a sixteenth of the ring, at most 256 KiB. */
    wakeup_kb: number;
    /** Period of the drain for records below the wake-up threshold (their maximum wait). */
    drain_interval_ms: number;
    capture_all: boolean;
    ports: number[];
    /** Cgroup v2 paths whose processes (and their descendants') are not captured. */
    exclude_cgroups: string[];
    tls: boolean;
    tls_rescan_s: number;
    /** Have the kernel time every BPF program run (bpf_enable_stats: two clock reads per run; its cost is not measured here). */
    bpf_stats: boolean;
  };
  outputs: {
    prometheus: { enabled: boolean; listen: string };
    otlp: { endpoint: string | null; headers: Record<string, string>; export_interval_s: number; metrics: boolean; traces: boolean; logs: boolean };
    jsonl: { path: string | null };
  };
  /** Which records the protocol layer produces besides LLM calls. */
  records: {
    retrieval: boolean;
    server_requests: boolean;
    /** A call whose client and server both run on this node: the server end's record derived from the client end's parse, skipped, or parsed too. */
    mirrored_server_side: MirroredServerMode;
  };
  privacy: { keep_excerpts: boolean };
  slo: { specs: string[]; state_path: string | null };
}

export const DEFAULT_CONFIG: AgentConfig = {
  capture: { payload_cap: 65536, ring_mb: 4, wakeup_kb: 0, drain_interval_ms: 100, capture_all: false, ports: [], exclude_cgroups: [], tls: true, tls_rescan_s: 10, bpf_stats: false },
  outputs: {
    prometheus: { enabled: true, listen: '127.0.0.1:9464' },
    otlp: { endpoint: null, headers: {}, export_interval_s: 15, metrics: true, traces: true, logs: true },
    jsonl: { path: null },
  },
  records: { retrieval: true, server_requests: true, mirrored_server_side: 'derive' },
  privacy: { keep_excerpts: false },
  slo: { specs: [], state_path: '/var/lib/llmslo/slo-state.json' },
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Kind = 'int' | 'bool' | 'string' | 'string?' | 'ports' | 'strings' | 'cgroups' | 'headers' | 'listen' | 'choice';

/** Every settable field with its kind and bounds: the single schema for file and environment. */
const FIELDS: Record<string, { kind: Kind; min?: number; max?: number; pow2?: boolean; choices?: readonly string[] }> = {
  'capture.payload_cap': { kind: 'int', min: 64, max: 262144 },
  'capture.ring_mb': { kind: 'int', min: 1, max: 1024, pow2: true },
  'capture.wakeup_kb': { kind: 'int', min: 0, max: 512 * 1024 },
  'capture.drain_interval_ms': { kind: 'int', min: 1, max: 10000 },
  'capture.capture_all': { kind: 'bool' },
  'capture.ports': { kind: 'ports' },
  'capture.exclude_cgroups': { kind: 'cgroups' },
  'capture.tls': { kind: 'bool' },
  'capture.tls_rescan_s': { kind: 'int', min: 0, max: 3600 },
  'capture.bpf_stats': { kind: 'bool' },
  'outputs.prometheus.enabled': { kind: 'bool' },
  'outputs.prometheus.listen': { kind: 'listen' },
  'outputs.otlp.endpoint': { kind: 'string?' },
  'outputs.otlp.headers': { kind: 'headers' },
  'outputs.otlp.export_interval_s': { kind: 'int', min: 1, max: 3600 },
  'outputs.otlp.metrics': { kind: 'bool' },
  'outputs.otlp.traces': { kind: 'bool' },
  'outputs.otlp.logs': { kind: 'bool' },
  'outputs.jsonl.path': { kind: 'string?' },
  'records.retrieval': { kind: 'bool' },
  'records.server_requests': { kind: 'bool' },
  'records.mirrored_server_side': { kind: 'choice', choices: ['derive', 'parse', 'skip'] },
  'privacy.keep_excerpts': { kind: 'bool' },
  'slo.specs': { kind: 'strings' },
  'slo.state_path': { kind: 'string?' },
};

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a mapping' : `${typeof v} ${JSON.stringify(v)}`;
}

/** Checks one value against its field; returns the normalised value or throws naming the field. */
function check(where: string, field: string, v: unknown): unknown {
  const spec = FIELDS[field];
  const fail = (want: string): never => {
    throw new ConfigError(`${where}: ${field}: expected ${want}, got ${describe(v)}`);
  };
  switch (spec.kind) {
    case 'int': {
      if (typeof v !== 'number' || !Number.isInteger(v)) fail('an integer');
      const n = v as number;
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) fail(`an integer in ${spec.min}..${spec.max}`);
      if (spec.pow2 && (n & (n - 1)) !== 0) fail('a power of two');
      return n;
    }
    case 'bool':
      return typeof v === 'boolean' ? v : fail('true or false');
    case 'choice':
      return typeof v === 'string' && spec.choices!.includes(v) ? v : fail(`one of ${spec.choices!.join(', ')}`);
    case 'string?':
      return v === null || (typeof v === 'string' && v.length > 0) ? v : fail('a non-empty string or null');
    case 'strings':
      return Array.isArray(v) && v.every((x) => typeof x === 'string' && x.length > 0) ? v : fail('a list of strings');
    case 'cgroups': {
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) fail('a list of cgroup v2 paths');
      const problem = (v as string[]).map(cgroupPathProblem).find((p) => p !== null);
      if (problem) throw new ConfigError(`${where}: ${field}: ${problem}`);
      return v;
    }
    case 'ports':
      return Array.isArray(v) && v.every((x) => Number.isInteger(x) && x >= 1 && x <= 65535) ? v : fail('a list of ports (1..65535)');
    case 'headers':
      return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string') ? v : fail('a mapping of header names to strings');
    case 'listen': {
      if (typeof v !== 'string') fail('host:port');
      const m = /^(.*):(\d{1,5})$/.exec(v as string);
      if (!m || Number(m[2]) > 65535) fail('host:port');
      return v;
    }
  }
}

function setPath(obj: Record<string, unknown>, path: string, v: unknown): void {
  const parts = path.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) cur = cur[p] as Record<string, unknown>;
  cur[parts[parts.length - 1]] = v;
}

/** Flattens a parsed YAML mapping into dotted fields, rejecting unknown keys by name. */
function flatten(where: string, obj: unknown, prefix: string, out: Map<string, unknown>): void {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new ConfigError(`${where}: ${prefix || 'top level'}: expected a mapping, got ${describe(obj)}`);
  }
  for (const [k, v] of Object.entries(obj)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (FIELDS[path]) out.set(path, v);
    else if (Object.keys(FIELDS).some((f) => f.startsWith(`${path}.`))) flatten(where, v, path, out);
    else throw new ConfigError(`${where}: ${path}: unknown setting`);
  }
}

function parseEnvValue(field: string, raw: string): unknown {
  const kind = FIELDS[field].kind;
  if (kind === 'int') return /^-?\d+$/.test(raw) ? Number(raw) : raw;
  if (kind === 'bool') return raw === 'true' ? true : raw === 'false' ? false : raw;
  if (kind === 'ports') return raw === '' ? [] : raw.split(',').map((x) => (/^\d+$/.test(x.trim()) ? Number(x.trim()) : x));
  if (kind === 'strings' || kind === 'cgroups') return raw === '' ? [] : raw.split(',').map((x) => x.trim());
  if (kind === 'headers') {
    const h: Record<string, string> = {};
    for (const pair of raw.split(',').filter(Boolean)) {
      const i = pair.indexOf('=');
      if (i <= 0) return raw;
      h[pair.slice(0, i).trim()] = pair.slice(i + 1).trim();
    }
    return h;
  }
  if (kind === 'string?') return raw === '' || raw === 'null' ? null : raw;
  return raw;
}

/** Loads defaults <- file (if any) <- environment. Throws ConfigError with a one-line message. */
export function loadConfig(file: string | null, env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const cfg = structuredClone(DEFAULT_CONFIG) as unknown as Record<string, unknown>;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    const doc = parseDocument(text);
    if (doc.errors.length) {
      const e = doc.errors[0];
      const line = e.linePos?.[0];
      throw new ConfigError(`${file}${line ? `:${line.line}:${line.col}` : ''}: invalid YAML: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`);
    }
    const data = doc.toJS() as unknown;
    if (data !== null && data !== undefined) {
      const flat = new Map<string, unknown>();
      flatten(file, data, '', flat);
      for (const [k, v] of flat) setPath(cfg, k, check(file, k, v));
    }
  }
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT) setPath(cfg, 'outputs.otlp.endpoint', check('OTEL_EXPORTER_OTLP_ENDPOINT', 'outputs.otlp.endpoint', env.OTEL_EXPORTER_OTLP_ENDPOINT));
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('LLMSLO_') || raw === undefined || !name.includes('__')) continue;
    const field = name.slice('LLMSLO_'.length).toLowerCase().split('__').join('.');
    if (!FIELDS[field]) throw new ConfigError(`${name}: unknown setting ${field}`);
    setPath(cfg, field, check(name, field, parseEnvValue(field, raw)));
  }
  const out = cfg as unknown as AgentConfig;
  // the one setting bounded by another: the ring needs room for bursts beyond the threshold
  if (out.capture.wakeup_kb * 1024 > (out.capture.ring_mb * 1024 * 1024) / 2) {
    throw new ConfigError(`capture.wakeup_kb: expected at most half the ring (${out.capture.ring_mb * 512} KiB for ring_mb ${out.capture.ring_mb}), got ${out.capture.wakeup_kb}`);
  }
  return out;
}
