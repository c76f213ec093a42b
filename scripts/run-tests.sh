#!/usr/bin/env bash
# Runs every test under test/ with node's test runner (TypeScript through tsx).
# Tests that need eBPF run for real as root; under CI=true they fail instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find test -name '*.test.ts' | sort)
[ ${#files[@]} -gt 0 ] || { echo "no test files found" >&2; exit 1; }
exec node --import tsx --test --test-reporter=spec --test-concurrency="${TEST_CONCURRENCY:-1}" "${files[@]}"
