#!/usr/bin/env bash
# E4 (docs/experiments.md): where should low budgets be spent? At equal total FLOPs (mean budget
# 1/2 over the trajectory, t from 1 = noise to 0), compare the constant budget 1/2 with low-early
# (noise end) and low-late schedules; constant 1/4 and 1 are the two ends for reference.
# Writes results.jsonl, results.json, table.md and fd_by_schedule.svg.
#   scripts/experiments/e4_schedules.sh --ckpt RUN [--steps 50] [--num 1000] [--cfg 3]
#                                       [--out runs/experiments/e4] [--quick]
#     --quick  a model trained for 20 updates, 16 images: checks the script (CI)
# The schedules use budgets 1/4, 1/2, 3/4 and 1, valid for 2x2 and 4x4 latent groups.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/parse_flags.sh
source scripts/experiments/common.sh

ckpt="" steps=50 cfg=3 out=""
parse_flags 2,9 --ckpt=ckpt --steps=steps --num=num --cfg=cfg --out=out --quick=quick=1 -- "$@"
[ "$quick" = 1 ] && num=16 batch=16 steps=6
[ -n "$ckpt" ] || [ "$quick" = 1 ] || { echo "e4_schedules.sh: --ckpt RUN is required" >&2; exit 2; }
experiment_setup e4
if [ -z "$ckpt" ]; then
  ckpt=$(train_model model configs/fmnist_elit_s4.yaml --sampling-steps 0 --max-train-steps 20 \
    --batch-size 16)
fi

# name | short name | --budget (by time: "b>t,b2" is b while t > t_switch, then b2) | mean budget |
# equal FLOPs
schedules="constant 1/2|1/2|0.5|0.5|true
low early: 1/4 then 3/4|1/4→3/4|0.25>0.5,0.75|0.5|true
low late: 3/4 then 1/4|3/4→1/4|0.75>0.5,0.25|0.5|true
low early: 1/4 (2/3 of steps) then 1|1/4 (2/3)→1|0.25>0.34,1|0.5|true
low late: 1 (1/3 of steps) then 1/4|1 (1/3)→1/4|1>0.66,0.25|0.5|true
constant 1/4|1/4|0.25|0.25|false
constant 1|1|1|1|false"
echo "E4: Euler $steps steps, CFG $cfg, $num images per schedule"
i=0
while IFS='|' read -r name short budget mean equal; do
  i=$((i + 1))
  sample_and_eval "schedule$i" "$ckpt" \
    "{\"schedule\": \"$name\", \"short\": \"$short\", \"mean_budget\": $mean, \"equal_flops\": $equal}" \
    --budget "$budget" --steps "$steps" --cfg-scale "$cfg" --seed 0
done <<< "$schedules"

python3 scripts/experiments/report.py e4 "$out"
