#!/usr/bin/env bash
# Durable Push throughput of fieldledgerd with and without the ledger
# (--benchmark_without_ledger), interleaved rounds, medians. Issue #4 target:
# overhead <= 10%. Usage: BUILD=build RUNS=3 DURATION=6s BATCH=1 bench/ledger_overhead.sh
set -euo pipefail
BUILD=${BUILD:-build}; RUNS=${RUNS:-3}; DURATION=${DURATION:-6s}; BATCH=${BATCH:-1}
bin="$BUILD/bin"
work=$(mktemp -d "${TMPDIR:-/tmp}/ledger-overhead.XXXXXX"); pid=""
# Under set -e a failing command in the trap would end it before the rm:
# each step here tolerates a node that already died.
cleanup() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
start() {  # start DIR [flags...]: a node on port 0; sets pid and addr
  local dir=$1; shift
  "$bin/fieldledgerd" --data_dir="$dir" --listen=127.0.0.1:0 "$@" >"$dir.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    addr=$(sed -n 's/.*serving on \([^,]*\),.*/\1/p' "$dir.log")
    [ -n "$addr" ] && return 0
    sleep 0.1
  done
  echo "node did not start" >&2; cat "$dir.log" >&2; exit 1
}
stop() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""; }
field() { tr " " "\n" <<<"$2" | sed -n "s|^$1=||p"; }
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
declare -A rate
for run in $(seq 1 "$RUNS"); do
  for c in ledger noledger; do
    dir="$work/$c-$run"
    flags=(); [ "$c" = noledger ] && flags=(--benchmark_without_ledger)
    start "$dir" "${flags[@]}"
    line=$("$bin/fieldledger_load" --target="$addr" --duration="$DURATION" \
             --admin_token_file="$dir/admin.token" --batch="$BATCH" 2>/dev/null |
           grep ' in_flight=' | head -1)
    stop; rm -rf "$dir"
    echo "round $run $c: $line" >&2
    rate[$c]+="$(field findings/s "$line") "
  done
done
with=$(tr ' ' '\n' <<<"${rate[ledger]}" | grep . | median)
without=$(tr ' ' '\n' <<<"${rate[noledger]}" | grep . | median)
echo "batch=$BATCH with_ledger=$with without_ledger=$without overhead=$(awk -v a="$with" -v b="$without" 'BEGIN {printf "%.1f%%", 100*(1-a/b)}')"
