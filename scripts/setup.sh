#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine (as root) to build, run and test llmslo.
# Idempotent: every step checks whether it is already done, so a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (eBPF needs CAP_BPF/CAP_PERFMON and apt-get needs root)"
command -v node >/dev/null || die "node (v20+) is required on PATH"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || die "node v20+ required, found $(node --version)"

# Debian packages: toolchain for BPF objects and the addon, and the real peers tests use.
PKGS=(clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config make g++ python3
      curl openssl ca-certificates iproute2 nftables iptables python3-httpx prometheus)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's prometheus package starts a service on :9090; tests start their own servers.
if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then
  systemctl stop prometheus || true
fi

bash scripts/mounts.sh

# npm dependencies, only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

log "building BPF objects"
make -s -C bpf
log "building native loader addon"
if [ ! -f native/build/Release/llmslo_native.node ] || [ -n "$(find native/src bpf/llmslo_events.h bpf/.output/llmslo.skel.h native/binding.gyp -newer native/build/Release/llmslo_native.node 2>/dev/null)" ]; then
  nodedir="$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")"
  (cd native && npx --no-install node-gyp rebuild --nodedir="$nodedir" --loglevel=error >/dev/null)
fi
if [ ! -f dist/.tsbuildinfo ] || [ -n "$(find src tsconfig.json tsconfig.build.json package-lock.json -newer dist/.tsbuildinfo -print -quit 2>/dev/null)" ]; then
  log "compiling TypeScript"
  npx --no-install tsc -p tsconfig.build.json
fi
log "ready"
