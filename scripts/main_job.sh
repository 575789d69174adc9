#!/usr/bin/env bash
# The main job (README command one): installs and builds, trains the default small multi-budget
# ELIT-SiT on Fashion-MNIST for a bounded time, then samples every class at every budget, compares
# CFG with cheap CFG, and prints where everything was written.
#
#   scripts/main_job.sh [--minutes M] [--out DIR]
#     --minutes M   training time limit in minutes (default 10; the whole job takes ~M+3 minutes
#                   on 2 cores after the build)
#     --out DIR     run folder (default runs/fmnist_elit_s4-<date>-<time>)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/parse_flags.sh

minutes=10
run=""
parse_flags 2,9 --minutes=minutes --out=run -- "$@"
[ -n "$run" ] || run="runs/fmnist_elit_s4-$(date +%Y%m%d-%H%M%S)"

# Only the command-line tool: the tests and micro-benchmarks are scripts/test.sh's to build.
ELIT_BUILD_TARGETS=elit_cli scripts/setup.sh
elit=build/elit
config=configs/fmnist_elit_s4.yaml
cfg_scale=3  # classifier-free guidance scale for the images

echo
echo "== 1/4 training $config for at most $minutes minutes -> $run"
"$elit" train --config "$config" --output-dir "$(dirname "$run")" --exp-name "$(basename "$run")" \
  --max-minutes "$minutes"

echo
echo "== 2/4 every budget: FLOPs, latency and images from the same noise -> $run/budgets"
"$elit" budgets --ckpt "$run" --classes all --num 20 --budgets all --cfg-scale "$cfg_scale" \
  --out "$run/budgets"

echo
echo "== 3/4 100 images (10 per class) at full budget and at a quarter -> $run/samples-b1, samples-b0.25"
for b in 1 0.25; do
  "$elit" sample --ckpt "$run" --classes all --num 100 --budget "$b" --cfg-scale "$cfg_scale" \
    --batch-size 50 --out "$run/samples-b$b"
done

echo
echo "== 4/4 classifier-free guidance vs cheap CFG vs autoguidance -> $run/guidance"
"$elit" guidance --ckpt "$run" --classes all --scales 1,2,3,4 --out "$run/guidance"

cat <<EOF

== done. What was written:
  $run/log.txt, log.jsonl          training log (loss, budget, images/s per logged update)
  $run/checkpoints/<step>/         model, EMA and optimizer state (resume with elit train --resume)
  $run/samples/<step>.png          preview grids written during training
  $run/budgets/grid.png            a row per budget (1/4 .. 4/4 of the latents), same noise
  $run/budgets/table.md            budget, latents, FLOPs, latency per forward and per image
  $run/budgets/budget_vs_flops.svg, budget_vs_latency.svg
  $run/samples-b1/grid.png         100 images at full budget (10 per class), samples.npz
  $run/samples-b0.25/grid.png      the same noise at a quarter of the latents
  $run/guidance/grid.svg           CFG vs cheap CFG vs autoguidance per scale, results.json

Budget table ($run/budgets/table.md):
EOF
cat "$run/budgets/table.md"
