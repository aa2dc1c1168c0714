#!/usr/bin/env bash
# Evidence upload (issue #5): fieldledgerd against a raw gRPC streaming sink
# in the same run, then server memory with concurrent uploads. Prints
# Markdown for docs/BENCHMARKS.md.
#
#   bench/upload_bench.sh                     # 5 rounds of one 100 MiB upload each
#   RUNS=3 MIB=100 CONCURRENT=4 CONCURRENT_MIB=64 bench/upload_bench.sh
#   BUILD=build-bench bench/upload_bench.sh   # another build directory
#
# Rate: each round uploads MIB MiB in 1 MiB chunks over one stream on
# loopback, first to `fieldledger_baseline --mode=noop` (reads every chunk,
# drops it), then to a fresh fieldledgerd (each chunk durable, the hash
# checked at the end); the ratio of their medians is the figure (target
# >= 0.70). The rates of the stream alone (first chunk to reply, without
# fieldledger_load's set-up, which both rates above include) are printed
# too. Memory: a fresh fieldledgerd takes CONCURRENT uploads of
# CONCURRENT_MIB MiB at once; (VmHWM after - VmRSS idle) / CONCURRENT is the
# extra memory per concurrent upload (target < 64 MiB). Everything runs on
# 127.0.0.1 in a temporary directory and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
RUNS=${RUNS:-5}
MIB=${MIB:-100}
CONCURRENT=${CONCURRENT:-4}
CONCURRENT_MIB=${CONCURRENT_MIB:-64}

cmake --build "$BUILD" --target fieldledgerd fieldledger_baseline fieldledger_load >/dev/null
bin="$BUILD/bin"
. bench/lib.sh
kib() { awk -v k="$1" '$1 == k ":" {print $2}' "/proc/$pid/status"; }
rate() { sed -n 's/.* mib\/s=\([0-9.]*\).*/\1/p' <<<"$1"; }
stream_rate() { sed -n 's/.* stream_mib\/s=\([0-9.]*\).*/\1/p' <<<"$1"; }
node() {  # node NAME: a fresh fieldledgerd that takes MIB-sized evidence
  start "$1" "$bin/fieldledgerd" --data_dir="$work/$1" --listen=127.0.0.1:0 \
    --max_evidence_bytes=$(((MIB > CONCURRENT_MIB ? MIB : CONCURRENT_MIB) << 20)) \
    --max_message_bytes=$((4 << 20))
}

base_rates=() node_rates=() node_extra=() base_streams=() node_streams=()
for run in $(seq 1 "$RUNS"); do
  start "baseline$run" "$bin/fieldledger_baseline" --mode=noop --listen=127.0.0.1:0
  out=$("$bin/fieldledger_load" --target="$addr" --upload_mib="$MIB")
  base_rates+=("$(rate "$out")")
  base_streams+=("$(stream_rate "$out")")
  stop
  node "node$run"
  idle=$(kib VmRSS)
  out=$("$bin/fieldledger_load" --target="$addr" --upload_mib="$MIB" \
    --admin_token_file="$work/node$run/admin.token")
  node_rates+=("$(rate "$out")")
  node_streams+=("$(stream_rate "$out")")
  node_extra+=("$((($(kib VmHWM) - idle) / 1024))")
  stop
  echo "round $run: baseline ${base_rates[-1]} MiB/s, fieldledgerd ${node_rates[-1]} MiB/s (+${node_extra[-1]} MiB peak)" >&2
done

node concurrent
idle=$(kib VmRSS)
out=$("$bin/fieldledger_load" --target="$addr" --upload_mib="$CONCURRENT_MIB" \
  --uploads="$CONCURRENT" --admin_token_file="$work/concurrent/admin.token")
hwm=$(kib VmHWM)
stop

b=$(printf '%s\n' "${base_rates[@]}" | median)
n=$(printf '%s\n' "${node_rates[@]}" | median)
echo
echo "| $RUNS rounds, $MIB MiB over one stream, load average $(cut -d' ' -f1 /proc/loadavg) | MiB/s (median; each round) |"
echo "|---|---|"
echo "| raw gRPC streaming baseline | $b ($(IFS=', '; echo "${base_rates[*]}")) |"
echo "| fieldledgerd | $n ($(IFS=', '; echo "${node_rates[*]}")) |"
echo
awk -v n="$n" -v b="$b" 'BEGIN {printf "ratio of medians: %.2f (target >= 0.70)\n", n / b}'
bs=$(printf '%s\n' "${base_streams[@]}" | median)
ns=$(printf '%s\n' "${node_streams[@]}" | median)
echo "stream alone (first chunk to reply, no set-up), MiB/s: baseline $bs ($(IFS=', '; echo "${base_streams[*]}")), fieldledgerd $ns ($(IFS=', '; echo "${node_streams[*]}"))"
awk -v n="$ns" -v b="$bs" 'BEGIN {printf "stream-alone ratio of medians: %.2f\n", n / b}'
echo "fieldledgerd peak over idle, one upload: $(printf '%s\n' "${node_extra[@]}" | median) MiB (median)"
echo "$CONCURRENT concurrent uploads of $CONCURRENT_MIB MiB ($(rate "$out") MiB/s in all): idle RSS $((idle / 1024)) MiB, peak $((hwm / 1024)) MiB, $(((hwm - idle) / 1024 / CONCURRENT)) MiB extra per upload (target < 64)"
