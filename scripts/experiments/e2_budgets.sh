#!/usr/bin/env bash
# E2 (docs/experiments.md): quality at every budget of one multi-budget model, i.e. are the
# latents importance-ordered and does quality degrade gracefully? For each budget: N images from
# the same noise, FD / precision / recall, FLOPs per image, and the RMS pixel distance of each
# image to the full-budget image from the same noise.
# Trains the model first when given --config (default: configs/experiments/fmnist_elit_s4_g4.yaml,
# 4x4 latent groups, budgets 1/16 .. 1) or uses --ckpt.
# Writes results.jsonl, results.json, table.md, fd_vs_flops.svg, distance.svg and grid.png (a row
# of images per budget, same noise, from elit budgets).
#   scripts/experiments/e2_budgets.sh [--ckpt RUN | --config FILE --minutes 10] [--budgets LIST]
#                                     [--num 1000] [--cfg 3] [--out runs/experiments/e2] [--quick]
#     --budgets LIST  e.g. 0.0625,0.25,1 (default: every budget of a model with up to 5, else
#                     1/T, 2/T, 4/T, ... and 1)
#     --quick         a model trained for 20 updates, 16 images per budget: checks the script (CI)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/parse_flags.sh
source scripts/experiments/common.sh

ckpt="" config="configs/experiments/fmnist_elit_s4_g4.yaml" minutes=10 budgets="" cfg=3 out=""
parse_flags 2,15 --ckpt=ckpt --config=config --minutes=minutes --budgets=budgets --num=num \
  --cfg=cfg --out=out --quick=quick=1 -- "$@"
[ "$quick" = 1 ] && num=16 batch=16
experiment_setup e2

if [ -z "$ckpt" ]; then
  limits=(--max-minutes "$minutes")
  [ "$quick" = 1 ] && limits=(--max-train-steps 20 --batch-size 16)
  echo "E2: training $config (${limits[*]}) -> $out/runs/model"
  ckpt=$(train_model model "$config" --sampling-steps 0 "${limits[@]}")
fi
if [ -z "$budgets" ]; then  # the model's budgets, from elit info's "budgets:" line
  all=$("$elit" -q info --ckpt "$ckpt" | sed -n 's/^budgets: *//p' | grep -o '[0-9.e-]* (' | tr -d ' (')
  count=$(echo "$all" | wc -l)
  if [ "$count" -le 5 ]; then
    budgets=$(echo "$all" | paste -sd, -)
  else
    budgets=$(python3 -c 'import sys; t=int(sys.argv[1]); b=[]; k=1
while k < t: b.append(k / t); k *= 2
print(",".join(f"{v:g}" for v in b + [1]))' "$count")
  fi
fi
echo "E2: budgets $budgets, $num images each, CFG $cfg"
for b in ${budgets//,/ }; do
  sample_and_eval "budget$b" "$ckpt" "{}" --budget "$b" --cfg-scale "$cfg" --seed 0
done
"$elit" -q budgets --ckpt "$ckpt" --classes all --num 10 --budgets "$budgets" --cfg-scale "$cfg" \
  --repeats 1 --out "$out/budgets" > "$out/budgets.log" 2>&1
cp "$out/budgets/grid.png" "$out/grid.png"

python3 scripts/experiments/report.py e2 "$out"
