#!/usr/bin/env bash
# The serving benchmark of docs/serving.md, in one run: unloaded latency L and capacity C of the
# fixed policy at budget 1, deadline D = 3 L, then offered loads 0.5C, 1C, 2C and 3C for the fixed
# and the elastic policy (elit loadtest), FD of the served images (elit eval), a JSON summary, a
# markdown table and a plot.
#   scripts/serve_benchmark.sh --ckpt RUN [--out DIR] [--duration S] [--steps N] [--max-batch B]
#                              [--batching continuous|static] [--headroom H]
#     --headroom H  the elastic planner's margin on step times (elit serve --headroom; default: the
#                   server's)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/parse_flags.sh

ckpt="" out="runs/serve-benchmark" duration=20 steps=20 batch=8 batching=continuous headroom=""
parse_flags 2,9 --ckpt=ckpt --out=out --duration=duration --steps=steps --max-batch=batch \
  --batching=batching --headroom=headroom -- "$@"
[ -n "$ckpt" ] || { echo "serve_benchmark.sh: --ckpt RUN is required" >&2; exit 2; }
elit=build/elit
mkdir -p "$out"
pid=""
trap '[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true' EXIT

start_server() {  # policy -> sets url and pid
  "$elit" serve --ckpt "$ckpt" --port 0 --policy "$1" --budget 1 --steps "$steps" \
    --max-batch "$batch" --batching "$batching" ${headroom:+--headroom "$headroom"} \
    > "$out/server-$1.out" 2> "$out/server-$1.log" &
  pid=$!
  for _ in $(seq 600); do
    url=$(grep -o 'http://[0-9.:]*' "$out/server-$1.out" || true)
    [ -n "$url" ] && return 0
    sleep 0.5
  done
  echo "server did not start; see $out/server-$1.log" >&2
  exit 1
}
stop_server() { kill -TERM "$pid"; wait "$pid"; pid=""; }
json() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$1"; }

echo "== unloaded latency and capacity of the fixed policy at budget 1"
start_server fixed
"$elit" --quiet loadtest --url "$url" --rate 1 --duration 8 --steps "$steps" --out "$out/unloaded.json" > /dev/null
latency=$(json "$out/unloaded.json" "['latency_ms']['p50']")
# Saturate: far more arrivals than the server can take; what it serves per second is its capacity.
"$elit" --quiet loadtest --url "$url" --rate "$(python3 -c "print(round(4 * $batch * 1000 / $latency, 2))")" \
  --duration 8 --steps "$steps" --out "$out/saturated.json" > /dev/null
capacity=$(json "$out/saturated.json" "['throughput_rps']")
stop_server
deadline=$(python3 -c "print(round(3 * $latency, 1))")
echo "L = $latency ms, C = $capacity requests/s, D = $deadline ms"

for load in 0.5 1 2 3; do
  rate=$(python3 -c "print(round($load * $capacity, 3))")
  for policy in fixed elastic; do
    echo "== $policy at ${load}C = $rate requests/s for $duration s"
    start_server "$policy"
    "$elit" --quiet loadtest --url "$url" --rate "$rate" --duration "$duration" --steps "$steps" \
      --deadline-ms "$deadline" --out "$out/$policy-$load.json" --samples-out "$out/$policy-$load.npz" > /dev/null
    stop_server
    "$elit" --quiet eval --samples "$out/$policy-$load.npz" --ref-dataset fashion-mnist --no-cas \
      --json "$out/$policy-$load-eval.json" > /dev/null || echo "eval failed for $policy $load"
  done
done
python3 scripts/serve_benchmark_report.py "$out" "$latency" "$capacity" "$deadline"
