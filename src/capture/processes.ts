// pid -> process facts (comm, executable), fed by exec/exit events and /proc look-ups, bounded.
// Container and Kubernetes enrichment plug in through `ProcessInfo.cgroupPath` later.
import { readFileSync, readlinkSync } from 'node:fs';

export interface ProcessInfo {
  pid: number;
  comm: string | null;
  exe: string | null;
  /** cgroup path (v2 unified line, or v1 name=systemd / cpu line), for container ids. */
  cgroupPath: string | null;
  exited: boolean;
}

export class ProcessCache {
  private readonly byPid = new Map<number, ProcessInfo>();
  lookups = 0;
  evictions = 0;

  constructor(
    private readonly maxEntries = 16384,
    private readonly procRoot: string | null = '/proc',
  ) {}

  get(pid: number): ProcessInfo {
    let p = this.byPid.get(pid);
    if (p) return p;
    p = this.readProc(pid);
    this.put(p);
    return p;
  }

  onExec(pid: number, comm: string, filename: string): void {
    const prev = this.byPid.get(pid);
    this.put({ pid, comm, exe: filename, cgroupPath: prev?.cgroupPath ?? null, exited: false });
  }

  onExit(pid: number, comm: string): void {
    const p = this.byPid.get(pid);
    if (p) {
      p.exited = true;
      if (!p.comm) p.comm = comm;
    } else {
      this.put({ pid, comm, exe: null, cgroupPath: null, exited: true });
    }
  }

  /** Seeds entries, e.g. from a recording's process snapshot. */
  seed(entries: ProcessInfo[]): void {
    for (const e of entries) if (!this.byPid.has(e.pid)) this.put(e);
  }

  snapshot(pids: Iterable<number>): ProcessInfo[] {
    const out: ProcessInfo[] = [];
    for (const pid of pids) out.push(this.get(pid));
    return out;
  }

  private put(p: ProcessInfo): void {
    this.byPid.delete(p.pid);
    this.byPid.set(p.pid, p);
    if (this.byPid.size > this.maxEntries) {
      // Map iteration order is insertion order: the first key is the least recently written.
      const oldest = this.byPid.keys().next().value;
      if (oldest !== undefined) {
        this.byPid.delete(oldest);
        this.evictions++;
      }
    }
  }

  private readProc(pid: number): ProcessInfo {
    this.lookups++;
    const info: ProcessInfo = { pid, comm: null, exe: null, cgroupPath: null, exited: false };
    if (!this.procRoot || pid <= 0) return info;
    const base = `${this.procRoot}/${pid}`;
    try {
      info.comm = readFileSync(`${base}/comm`, 'utf8').trim();
    } catch {
      info.exited = true;
      return info;
    }
    try {
      info.exe = readlinkSync(`${base}/exe`);
    } catch {
      /* kernel threads and permission limits */
    }
    try {
      const lines = readFileSync(`${base}/cgroup`, 'utf8').split('\n');
      const v2 = lines.find((l) => l.startsWith('0::'));
      const v1 = lines.find((l) => l.includes(':name=systemd:')) ?? lines.find((l) => /:(cpu,cpuacct|cpu|memory):/.test(l));
      const line = v2 ?? v1;
      if (line) info.cgroupPath = line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1);
    } catch {
      /* ignore */
    }
    return info;
  }
}
