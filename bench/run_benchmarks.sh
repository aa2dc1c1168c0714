#!/usr/bin/env bash
# Measures fieldledgerd against the baseline servers in one run and prints
# medians as a Markdown table (docs/BENCHMARKS.md).
#
#   bench/run_benchmarks.sh                # 5 rounds of 10 s each
#   RUNS=3 DURATION=5s bench/run_benchmarks.sh
#   BUILD=build-bench bench/run_benchmarks.sh   # another build directory
#
# Each round measures every configuration once, in turn, each on a fresh
# server in its own temporary directory, so the machine's noise hits all of
# them alike. Then a node is filled with 1,000,000 findings to read its RSS
# and time a restart after kill -9. Everything runs on 127.0.0.1 and stops
# by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
RUNS=${RUNS:-5}
DURATION=${DURATION:-10s}
FILL=${FILL:-1000000}

cmake --build "$BUILD" --target fieldledgerd fieldledger_baseline fieldledger_load >/dev/null
bin="$BUILD/bin"
. bench/lib.sh

# field NAME LINE: the value of NAME=... in a load generator result line.
field() {
  awk -v k="$1" '{for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) {
    v = substr($i, length(k) + 2); sub(/ms$/, "", v); print v }}' <<<"$2"
}

# The result line; a "first error" line after it goes to stderr.
result() { awk '/ in_flight=/ && !d {print; d=1; next} {print > "/dev/stderr"}'; }
load() {
  "$bin/fieldledger_load" --target="$addr" --server_pid="$pid" --duration="$DURATION" "$@" | result
}

# CPU and I/O pressure over the last 10 s (Linux PSI), to spot rounds that
# other work on the machine disturbed.
pressure() {
  for r in cpu io; do
    [ -r /proc/pressure/$r ] && printf 'psi_%s=%s ' "$r" \
      "$(awk '/^some/ {sub("avg10=", "", $2); print $2}' /proc/pressure/$r)"
  done
  return 0
}

declare -A rate p50 p99 server_cpu load_cpu busy
ratios=""  # single / noop of each round: robust to noise that shifts between rounds
configs=(noop rocksdb single batch100)
for run in $(seq 1 "$RUNS"); do
  for c in "${configs[@]}"; do
    dir="$work/$c-$run"
    case $c in
      noop)
        start "$c-$run" "$bin/fieldledger_baseline" --mode=noop --listen=127.0.0.1:0
        line=$(load) ;;
      rocksdb)
        start "$c-$run" "$bin/fieldledger_baseline" --mode=rocksdb --data_dir="$dir" --listen=127.0.0.1:0
        line=$(load) ;;
      single)
        start "$c-$run" "$bin/fieldledgerd" --data_dir="$dir" --listen=127.0.0.1:0
        line=$(load --admin_token_file="$dir/admin.token") ;;
      batch100)
        start "$c-$run" "$bin/fieldledgerd" --data_dir="$dir" --listen=127.0.0.1:0
        line=$(load --admin_token_file="$dir/admin.token" --batch=100) ;;
    esac
    stop
    rm -rf "$dir"
    echo "round $run $c: $line $(pressure)" >&2
    rate[$c]+="$(field findings/s "$line") "
    [ "$c" = noop ] && round_noop=$(field findings/s "$line")
    [ "$c" = single ] && ratios+="$(awk -v a="$(field findings/s "$line")" -v b="$round_noop" 'BEGIN {printf "%.3f", a/b}') "
    p50[$c]+="$(field p50 "$line") "
    p99[$c]+="$(field p99 "$line") "
    server_cpu[$c]+="$(field server_cpu_us/req "$line") "
    load_cpu[$c]+="$(field load_cpu_us/req "$line") "
    busy[$c]+="$(field machine_busy "$line" | tr -d %) "
  done
done

m() { tr ' ' '\n' <<<"$1" | grep . | median; }
noop=$(m "${rate[noop]}")
single=$(m "${rate[single]}")
row() {
  echo "| $1 | $(m "${rate[$2]}") | $(m "${p50[$2]}") | $(m "${p99[$2]}") |" \
    "$(m "${server_cpu[$2]}") | $(m "${load_cpu[$2]}") | $(m "${busy[$2]}") |"
}
echo "| configuration (64 in flight, one channel) | findings/s (median of $RUNS) | p50 ms | p99 ms" \
  "| server CPU µs/request | load generator CPU µs/request | machine busy % |"
echo "|---|---|---|---|---|---|---|"
row "gRPC no-op baseline" noop
row "gRPC + one synced RocksDB put per Push" rocksdb
row "fieldledgerd, 1 finding per Push" single
row "fieldledgerd, 100 findings per Push" batch100
echo
echo "single-finding Push / no-op: $(awk -v a="$single" -v b="$noop" 'BEGIN {printf "%.2f", a/b}') (ratio of the medians);" \
  "median of the per-round ratios $(m "$ratios") (rounds: $ratios)"

# A node with FILL findings: RSS, then restart after kill -9.
dir="$work/fill"
start fill "$bin/fieldledgerd" --data_dir="$dir" --listen=127.0.0.1:0
"$bin/fieldledger_load" --target="$addr" --admin_token_file="$dir/admin.token" \
  --batch=500 --in_flight=16 --requests=$((FILL / 500)) | result >&2
# Let flushes and compactions settle before reading the RSS.
sleep "${SETTLE:-5}"
rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
fill_addr=$addr
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
# The probe starts with the process and polls until the node answers.
t0=$(date +%s%N)
"$bin/fieldledgerd" --data_dir="$dir" --listen="$fill_addr" >"$work/restart.log" 2>&1 &
pid=$!
pids+=("$pid")
probe=$("$bin/fieldledger_load" --target="$fill_addr" --admin_token_file="$dir/admin.token" --probe | tail -1)
t1=$(date +%s%N)
rss_after=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
stop
echo
echo "with $FILL findings stored: RSS $((rss / 1024)) MiB after the fill (peak $((hwm / 1024)) MiB), $((rss_after / 1024)) MiB after the restart"
echo "restart after kill -9, from process start: $probe"
echo "restart after kill -9, wall clock from exec to first push applied: $(((t1 - t0) / 1000000)) ms"
