#!/usr/bin/env bash
# README's main-job command: set everything up, then run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node bin/llmslo.js demo "$@"
