// Cgroups excluded from capture (capture.exclude_cgroups): configured cgroup v2 paths, each with
// its descendants, resolved to the ids the kernel reports for a task (bpf_get_current_cgroup_id:
// the kernfs inode number of the task's cgroup in the unified hierarchy). Pods and services come
// and go, so the resolution is repeated periodically by LiveCapture.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Most cgroup ids the kernel-side set holds (LLMSLO_MAX_SKIP_CGROUPS in bpf/llmslo_events.h). */
export const MAX_EXCLUDED_CGROUPS = 4096;
/** Deeper nesting than this is not walked (Kubernetes pods sit at depth 3-5). */
const MAX_DEPTH = 16;

/** A configured path's problem, or null: absolute, no `.`/`..` segments, no NUL. */
export function cgroupPathProblem(path: string): string | null {
  if (!path.startsWith('/')) return `"${path}" must be absolute in the cgroup v2 hierarchy (start with /)`;
  if (path.includes('\0')) return `"${path.replace(/\0/g, '\\0')}" contains a NUL byte`;
  if (path.split('/').some((s) => s === '.' || s === '..')) return `"${path}" must not contain . or .. segments`;
  return null;
}

/** Where the cgroup v2 (unified) hierarchy is mounted, from mountinfo; null when it is not. */
export function cgroup2Mount(mountinfo = '/proc/self/mountinfo'): string | null {
  let text: string;
  try {
    text = readFileSync(mountinfo, 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    // "36 25 0:31 / /sys/fs/cgroup rw,... shared:9 - cgroup2 cgroup2 rw": fields after " - "
    const dash = line.indexOf(' - ');
    if (dash < 0 || !line.startsWith('cgroup2 ', dash + 3)) continue;
    const mountPoint = line.slice(0, dash).split(' ')[4];
    if (mountPoint) return mountPoint.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  }
  return null;
}

export interface ResolvedCgroups {
  /** Ids of the configured cgroups and of every cgroup below them, at most `limit`. */
  ids: number[];
  /** Configured paths that do not exist (yet). */
  missing: string[];
  /** More cgroups than `limit`: the rest are not excluded. */
  truncated: boolean;
}

/** Resolves `paths` (relative to the hierarchy mounted at `root`) with their descendants. */
export function resolveCgroups(root: string, paths: readonly string[], limit = MAX_EXCLUDED_CGROUPS): ResolvedCgroups {
  const ids = new Set<number>();
  const missing: string[] = [];
  let truncated = false;
  const walk = (dir: string, depth: number): void => {
    if (ids.size >= limit) {
      truncated = true;
      return;
    }
    ids.add(statSync(dir).ino);
    if (depth >= MAX_DEPTH) return;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // removed while walking
    }
    for (const e of entries) if (e.isDirectory()) walkSafe(join(dir, e.name), depth + 1);
  };
  const walkSafe = (dir: string, depth: number): boolean => {
    try {
      walk(dir, depth);
      return true;
    } catch {
      return false; // gone between readdir and stat
    }
  };
  for (const p of paths) if (!walkSafe(join(root, p), 0)) missing.push(p);
  return { ids: [...ids], missing, truncated };
}
