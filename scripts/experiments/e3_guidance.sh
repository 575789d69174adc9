#!/usr/bin/env bash
# E3 (docs/experiments.md): CFG, cheap CFG (the unconditional branch at a low budget) and
# autoguidance (the guiding branch keeps the class, at a low budget) over guidance scales: FD,
# precision, recall and FLOPs per image, so that the FD-against-FLOPs frontiers can be compared.
# Writes results.jsonl, results.json, table.md and fd_vs_flops.svg.
#   scripts/experiments/e3_guidance.sh --ckpt RUN [--scales 1.5,2,3,4] [--guide-budget B]
#                                      [--steps 25] [--num 1000] [--out runs/experiments/e3] [--quick]
#     --guide-budget B  budget of the cheap branch (default: the model's smallest)
#     --quick           a model trained for 20 updates, 16 images, one scale: checks the script (CI)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/parse_flags.sh
source scripts/experiments/common.sh

ckpt="" scales="1.5,2,3,4" guide="" steps=25 out=""
parse_flags 2,10 --ckpt=ckpt --scales=scales --guide-budget=guide --steps=steps --num=num \
  --out=out --quick=quick=1 -- "$@"
[ "$quick" = 1 ] && num=16 batch=16 scales=3 steps=4
[ -n "$ckpt" ] || [ "$quick" = 1 ] || { echo "e3_guidance.sh: --ckpt RUN is required" >&2; exit 2; }
experiment_setup e3
if [ -z "$ckpt" ]; then
  ckpt=$(train_model model configs/fmnist_elit_s4.yaml --sampling-steps 0 --max-train-steps 20 \
    --batch-size 16)
fi
[ -n "$guide" ] || guide=$("$elit" -q info --ckpt "$ckpt" | sed -n 's/^budgets: *\([0-9.e-]*\) .*/\1/p')

echo "E3: scales $scales, guiding budget $guide, Euler $steps steps, $num images each"
sample_and_eval none "$ckpt" '{"mode": "none"}' --steps "$steps" --cfg-scale 1
for s in ${scales//,/ }; do
  sample_and_eval "cfg-$s" "$ckpt" '{"mode": "cfg"}' --steps "$steps" --cfg-scale "$s"
  sample_and_eval "ccfg-$s" "$ckpt" '{"mode": "ccfg"}' --steps "$steps" --cfg-scale "$s" \
    --uncond-budget "$guide"
  sample_and_eval "autoguidance-$s" "$ckpt" '{"mode": "autoguidance"}' --steps "$steps" \
    --cfg-scale "$s" --uncond-budget "$guide" --autoguidance
done

python3 scripts/experiments/report.py e3 "$out"
