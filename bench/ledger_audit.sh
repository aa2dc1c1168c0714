#!/usr/bin/env bash
# `fieldledger ledger audit` end to end (issue #4 target: >= 1,000,000
# leaves/s): fills a fresh node with FINDINGS findings (+3 registry events,
# 500 per Push), waits for a checkpoint that covers them all, then times the
# audit RUNS times and prints the median leaves/s. With BASE_BIN (another
# `fieldledger` binary, e.g. one built from main) each round also times that
# one against the same node, interleaved.
# Usage: BUILD=build RUNS=5 FINDINGS=1000000 BASE_BIN=/path/fieldledger bench/ledger_audit.sh
set -euo pipefail
BUILD=${BUILD:-build}; RUNS=${RUNS:-5}; FINDINGS=${FINDINGS:-1000000}
BASE_BIN=${BASE_BIN:-}
bin="$BUILD/bin"
work=$(mktemp -d "${TMPDIR:-/tmp}/ledger-audit.XXXXXX"); pid=""
cleanup() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
data="$work/node"
"$bin/fieldledgerd" --data_dir="$data" --listen=127.0.0.1:0 >"$work/node.log" 2>&1 &
pid=$!
addr=""
for _ in $(seq 1 100); do
  addr=$(sed -n 's/.*serving on \([^,]*\),.*/\1/p' "$work/node.log")
  [ -n "$addr" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$addr" ] || { echo "node did not start" >&2; cat "$work/node.log" >&2; exit 1; }

batch=500
"$bin/fieldledger_load" --target="$addr" --admin_token_file="$data/admin.token" \
  --batch=$batch --in_flight=16 --requests=$(( (FINDINGS + batch - 1) / batch )) \
  --max_time=30m >"$work/fill.log" 2>&1 || { cat "$work/fill.log" >&2; exit 1; }
want=$(( (FINDINGS + batch - 1) / batch * batch + 3 ))
audit() {  # audit BINARY HOME: prints "<leaves> <seconds>"
  local t0 t1 out
  t0=$(date +%s.%N)
  out=$("$1" --home "$2" ledger audit --server "$addr" \
          --admin-token-file "$data/admin.token" --ledger-vkey "$data/ledger.vkey")
  t1=$(date +%s.%N)
  echo "$(sed -n 's/^audit ok:[^0-9]*\([0-9]*\).*/\1/p' <<<"$out") $(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')"
}
# The checkpointer signs within a second of the last Push.
size=""
for _ in $(seq 1 100); do
  size=$("$bin/fieldledger" --home "$work/home" ledger checkpoint --server "$addr" \
           --admin-token-file "$data/admin.token" | sed -n 2p)
  [ "$size" = "$want" ] && break
  sleep 0.2
done
[ "$size" = "$want" ] || { echo "no checkpoint of $want leaves (last: $size)" >&2; exit 1; }
audit "$bin/fieldledger" "$work/home" >/dev/null  # warms the page cache
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
declare -A rates
kinds=(new); [ -n "$BASE_BIN" ] && kinds+=(base)
for run in $(seq 1 "$RUNS"); do
  for k in "${kinds[@]}"; do
    b="$bin/fieldledger"; [ "$k" = base ] && b="$BASE_BIN"
    read -r leaves secs < <(audit "$b" "$work/home-$k")
    rate=$(awk -v n="$leaves" -v s="$secs" 'BEGIN {printf "%d", n / s}')
    echo "round $run $k: $leaves leaves in ${secs}s = $rate leaves/s" >&2
    rates[$k]+="$rate "
  done
done
line="leaves=$want runs=$RUNS audit_leaves_per_s=$(tr ' ' '\n' <<<"${rates[new]}" | grep . | median)"
[ -n "$BASE_BIN" ] && line+=" base_leaves_per_s=$(tr ' ' '\n' <<<"${rates[base]}" | grep . | median)"
echo "$line"
