// Container identity from a process's cgroup path, for cgroup v1 and v2 and the common runtimes:
//   containerd (cri-containerd-<id>.scope, /kubepods/.../<id>), CRI-O (crio-<id>.scope),
//   Docker (docker-<id>.scope, /docker/<id>), and the systemd-slice forms kubelet uses
//   (kubepods-burstable-pod<uid>.slice). Kubernetes pod metadata is resolved later from the pod
//   UID through the `PodResolver` seam; here we only read what the path itself says.

export interface ContainerRef {
  /** 64-hex container id, or null when the process is not in a container. */
  containerId: string | null;
  runtime: 'containerd' | 'cri-o' | 'docker' | 'podman' | null;
  /** Kubernetes pod UID (dashes restored) when the path names one. */
  podUid: string | null;
  qosClass: 'guaranteed' | 'burstable' | 'besteffort' | null;
}

/** The seam for Kubernetes enrichment (a later capability plugs a kubelet/API client in here). */
export interface PodResolver {
  resolve(ref: ContainerRef): { namespace: string; pod: string; container: string | null; workload: string | null } | null;
}

const ID = '([0-9a-f]{64})';
const SCOPE_FORMS: Array<[RegExp, ContainerRef['runtime']]> = [
  [new RegExp(`cri-containerd-${ID}\\.scope`), 'containerd'],
  [new RegExp(`crio-${ID}\\.scope`), 'cri-o'],
  [new RegExp(`crio-conmon-${ID}\\.scope`), 'cri-o'],
  [new RegExp(`docker-${ID}\\.scope`), 'docker'],
  [new RegExp(`libpod-${ID}\\.scope`), 'podman'],
];
// cgroupfs driver: /kubepods/burstable/pod<uid>/<id>, /docker/<id>, /system.slice/containerd.service/...
const PLAIN_ID = new RegExp(`/${ID}(?:/|$)`);
const POD_SLICE = /pod([0-9a-f]{8}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{12})\.slice/;
const POD_DIR = /\/pod([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?:\/|$)/;
const QOS = /kubepods[-/](burstable|besteffort)/;

export function parseCgroupPath(path: string | null): ContainerRef {
  const ref: ContainerRef = { containerId: null, runtime: null, podUid: null, qosClass: null };
  if (!path) return ref;
  for (const [re, runtime] of SCOPE_FORMS) {
    const m = re.exec(path);
    if (m) {
      ref.containerId = m[1];
      ref.runtime = runtime;
      break;
    }
  }
  if (!ref.containerId) {
    const m = PLAIN_ID.exec(path);
    if (m) {
      ref.containerId = m[1];
      ref.runtime = path.includes('/docker/') ? 'docker' : path.includes('kubepods') ? 'containerd' : null;
    }
  }
  const slice = POD_SLICE.exec(path);
  if (slice) ref.podUid = slice[1].replace(/_/g, '-');
  else {
    const dir = POD_DIR.exec(path);
    if (dir) ref.podUid = dir[1];
  }
  if (path.includes('kubepods')) {
    const q = QOS.exec(path);
    ref.qosClass = q ? (q[1] as 'burstable' | 'besteffort') : 'guaranteed';
  }
  return ref;
}
