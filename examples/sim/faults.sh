#!/usr/bin/env bash
# Drive the simulator's fault control endpoint. Usage: examples/sim/faults.sh http://127.0.0.1:8080
set -euo pipefail
SIM=${1:?simulator URL}
# 10% of all requests get HTTP 429 with retry-after for the next 60 s
curl -sS -X POST "$SIM/_sim/faults" -d '{"fault":"rate_limited","rate":0.1,"for_s":60}'; echo
# every gpt-4o-mini stream gets an error event after 5 tokens (HTTP 200 already sent)
curl -sS -X POST "$SIM/_sim/faults" -d '{"fault":"stream_error","rate":1,"model":"gpt-4o-mini","after_tokens":5}'; echo
# 5% of streams stall for 8 s mid-way
curl -sS -X POST "$SIM/_sim/faults" -d '{"fault":"stall","rate":0.05,"delay_ms":8000}'; echo
curl -sS "$SIM/_sim/faults"; echo
# make the default model slower from now on
curl -sS -X PATCH "$SIM/_sim/profile" -d '{"defaults":{"ttft_ms":{"dist":"lognormal","median":900,"sigma":0.4}}}' >/dev/null
curl -sS -X DELETE "$SIM/_sim/faults"; echo
