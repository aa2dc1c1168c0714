# Shared by the benchmark scripts (sourced, not run): a temporary work
# directory removed on exit with every server still running, and helpers to
# start and stop a server and take a median.
#
#   . "$(dirname "$0")/lib.sh"
#   start node "$bin/fieldledgerd" --data_dir="$work/node" --listen=127.0.0.1:0
#   ... "$addr" "$pid" ...
#   stop
work=$(mktemp -d "${TMPDIR:-/tmp}/fieldledger-bench.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# start NAME CMD... : starts a server whose stdout names its address; sets
# $addr and $pid.
start() {
  local log="$work/$1.log"
  shift
  "$@" >"$log" 2>&1 &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 1 300); do
    addr=$(grep -so '127\.0\.0\.1:[0-9]*' "$log" | head -1 || true)
    [ -n "$addr" ] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "server did not start: $(cat "$log")" >&2
  exit 1
}

stop() { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
