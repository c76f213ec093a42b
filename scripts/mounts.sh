#!/usr/bin/env bash
# Mounts tracefs and bpffs when missing (fresh machines and some containers lack them).
set -euo pipefail
if [ ! -d /sys/kernel/tracing/events ]; then
  mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || mount -t debugfs nodev /sys/kernel/debug 2>/dev/null || true
fi
if ! grep -q ' /sys/fs/bpf bpf ' /proc/mounts; then
  mkdir -p /sys/fs/bpf && mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
fi
