// Container ids and pod UIDs from the cgroup path forms of containerd, CRI-O, Docker and the
// kubelet's systemd and cgroupfs drivers, cgroup v1 and v2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseCgroupPath } from '../../src/capture/containers.ts';
import { ProcessCache } from '../../src/capture/processes.ts';

const id = 'a'.repeat(16) + 'b'.repeat(16) + 'c'.repeat(16) + '0123456789abcdef';
const uid = '1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9';
const uidU = uid.replace(/-/g, '_');

test('cgroup path forms', () => {
  const cases: Array<[string, Partial<ReturnType<typeof parseCgroupPath>>]> = [
    // cgroup v2, systemd driver (containerd), burstable
    [`/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uidU}.slice/cri-containerd-${id}.scope`, { containerId: id, runtime: 'containerd', podUid: uid, qosClass: 'burstable' }],
    // CRI-O, guaranteed
    [`/kubepods.slice/kubepods-pod${uidU}.slice/crio-${id}.scope`, { containerId: id, runtime: 'cri-o', podUid: uid, qosClass: 'guaranteed' }],
    // cgroupfs driver (v1 or v2)
    [`/kubepods/besteffort/pod${uid}/${id}`, { containerId: id, runtime: 'containerd', podUid: uid, qosClass: 'besteffort' }],
    // Docker, both drivers
    [`/system.slice/docker-${id}.scope`, { containerId: id, runtime: 'docker', podUid: null, qosClass: null }],
    [`/docker/${id}`, { containerId: id, runtime: 'docker' }],
    // podman
    [`/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${id}.scope/container`, { containerId: id, runtime: 'podman' }],
    // not a container
    ['/user.slice/user-0.slice/session-3.scope', { containerId: null, runtime: null, podUid: null, qosClass: null }],
    ['/', { containerId: null }],
  ];
  for (const [path, want] of cases) {
    const got = parseCgroupPath(path);
    for (const [k, v] of Object.entries(want)) assert.equal(got[k as keyof typeof got], v, `${path}: ${k}`);
  }
  assert.deepEqual(parseCgroupPath(null), { containerId: null, runtime: null, podUid: null, qosClass: null });
  // Hostile input: long garbage neither throws nor matches.
  assert.equal(parseCgroupPath('/x'.repeat(10000) + 'crio-zz.scope').containerId, null);
});

test('the process cache reads this process cgroup path (v1 or v2)', () => {
  const info = new ProcessCache().get(process.pid);
  assert.ok(info.cgroupPath?.startsWith('/'), `cgroup path ${info.cgroupPath}`);
  const raw = readFileSync('/proc/self/cgroup', 'utf8');
  assert.ok(raw.includes(info.cgroupPath!));
});
