#!/usr/bin/env bash
# Images per second at equal quality (docs/sampling.md, "Fast sampling"): for each sampling
# setting, N images of every class from the same seeds with elit sample, their FD / precision /
# recall with elit eval (default Fashion-MNIST classifier features), and the published sampler on
# the same model and seeds as the baseline (bench/published/sample.py, when its code is given).
# Settings run in the order given; the baselines run first and again last, so that a drift of the
# machine's speed shows up as a difference between the two.
#   scripts/sampling_benchmark.sh --ckpt RUN [--out DIR] [--num N] [--batch B] [--cfg S]
#                                 [--published DIR] [--settings FILE] [--quick]
#     --settings FILE  lines "name: elit sample flags" (default: the presets and their ablations)
#     --published DIR  a work tree of github.com/snap-research/elit (with /usr/bin/python3 torch:
#                      ELIT_WITH_PUBLISHED_BENCH=1 scripts/setup.sh --no-build)
#     --quick          16 images, 2 settings: checks that the script runs (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/parse_flags.sh

ckpt="" out="runs/sampling-benchmark" num=1000 batch=100 cfg=3 published="" settings="" quick=0
parse_flags 2,13 --ckpt=ckpt --out=out --num=num --batch=batch --cfg=cfg --published=published \
  --settings=settings --quick=quick=1 -- "$@"
[ -n "$ckpt" ] || { echo "sampling_benchmark.sh: --ckpt RUN is required" >&2; exit 2; }
elit=${ELIT:-build/elit}
[ -x "$elit" ] || { echo "sampling_benchmark.sh: $elit not built (scripts/setup.sh)" >&2; exit 2; }
mkdir -p "$out"
results="$out/results.jsonl"
: > "$results"

if [ "$quick" = 1 ]; then
  num=16 batch=16
  list=$'baseline: --steps 4\nfast: --preset fast --steps 2'
elif [ -n "$settings" ]; then
  list=$(grep -v '^#' "$settings")
else
  list=$'baseline: --steps 50
quality: --preset quality
balanced: --preset balanced
fast: --preset fast
steps25: --steps 25
steps15: --steps 15
steps10: --steps 10
ccfg: --steps 50 --uncond-budget 0.25
budget0.5: --steps 50 --budget 0.5
budget0.25: --steps 50 --budget 0.25
teacache0.1: --steps 50 --teacache 0.1
teacache0.3: --steps 50 --teacache 0.3
teacache0.6: --steps 50 --teacache 0.6
bf16: --steps 50 --dtype bfloat16
baseline-seed1: --steps 50 --seed 1
baseline-again: --steps 50'
fi

ref="$out/fashion_mnist_train_ref.npz"
[ -f "$ref" ] || "$elit" ref-stats --dataset fashion-mnist --size 32 --out "$ref"

evaluate() {  # name samples.npz images_per_s extra_json
  local json="$out/$1/eval.json"
  "$elit" eval --samples "$2" --ref "$ref" --json "$json" > "$out/$1/eval.log" 2>&1
  python3 - "$1" "$json" "$3" "$4" >> "$results" <<'EOF'
import json, sys
name, path, ips, extra = sys.argv[1], sys.argv[2], float(sys.argv[3]), json.loads(sys.argv[4])
ev = json.load(open(path))
row = {"name": name, "images_per_s": ips}
for k in ("fd", "precision", "recall"):
    row[k] = ev.get(k, ev.get("metrics", {}).get(k))
if isinstance(row["fd"], dict):  # {"value", "floor": real test images vs the reference, same N}
    row["fd_floor"] = row["fd"].get("floor")
    row["fd"] = row["fd"]["value"]
row.update(extra)
print(json.dumps(row))
EOF
  tail -1 "$results"
}

weights_file() {  # the model file --ckpt designates (a file, a checkpoint folder or a run folder)
  if [ -f "$ckpt" ]; then echo "$ckpt"
  elif [ -f "$ckpt/ema.safetensors" ]; then echo "$ckpt/ema.safetensors"
  else echo "$(ls -d "$ckpt"/checkpoints/*/ | sort | tail -1)ema.safetensors"; fi
}

run_published() {  # name
  [ -n "$published" ] || return 0
  local dir="$out/$1"
  mkdir -p "$dir"
  /usr/bin/python3 bench/published/sample.py --published "$published" \
    --weights "$(weights_file)" \
    --num "$num" --seed 0 --classes all --steps 50 --cfg-scale "$cfg" --batch-size "$batch" \
    --threads "$(nproc)" --out "$dir" > "$dir/log.txt" 2>&1
  local ips
  ips=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["images_per_s"])' "$dir/timing.json")
  evaluate "$1" "$dir/samples.npz" "$ips" '{"system": "published", "flags": "50 Euler steps, CFG, budget 1, float32"}'
}

run_elit() {  # name flags...
  local name="$1"; shift
  local dir="$out/$name"
  # shellcheck disable=SC2068  # the flags are words
  "$elit" sample --ckpt "$ckpt" --classes all --num "$num" --batch-size "$batch" \
    --cfg-scale "$cfg" --out "$dir" $@ > "$dir.log" 2>&1 || { cat "$dir.log" >&2; exit 1; }
  local ips extra
  ips=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["images"]/s["seconds"])' "$dir/sample.json")
  extra=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(json.dumps({"system": "elit", "flags": sys.argv[2], "steps": s["steps"], "budget": s["budget"], "guidance": s["guidance"], "uncond_budget": s["uncond_budget"], "dtype": s["dtype"], "teacache": s.get("teacache")}))' "$dir/sample.json" "$*")
  evaluate "$name" "$dir/samples.npz" "$ips" "$extra"
}

run_published published
while IFS= read -r line; do
  [ -n "$line" ] || continue
  run_elit "${line%%:*}" ${line#*:}
done <<< "$list"
run_published published-again

python3 scripts/sampling_benchmark_report.py "$results" "$out"
