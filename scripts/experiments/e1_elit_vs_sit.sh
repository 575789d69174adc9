#!/usr/bin/env bash
# E1 (docs/experiments.md): does ELIT beat the plain SiT of the same width, depth and patch?
# Trains configs/fmnist_elit_s4.yaml and configs/fmnist_sit_s4.yaml side by side, one thread each
# for the same minutes (so both see the same machine, whatever its speed does meanwhile), with a
# checkpoint every 50 updates. Then compares, at full budget, with CFG off and at --cfg:
#   equal time     each model's last checkpoint;
#   equal updates  both models at the last step both reached.
# Writes results.jsonl (one line per model x setting), results.json, table.md and fd.svg.
#   scripts/experiments/e1_elit_vs_sit.sh [--minutes 10] [--num 1000] [--cfg 3] [--seeds 2]
#                                         [--out runs/experiments/e1] [--quick]
#     --seeds K  sample the equal-time pair at --cfg from K seeds (0, 1000, ...): the FD spread
#     --quick    20 updates each, 16 images: checks that the script runs (CI)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/parse_flags.sh
source scripts/experiments/common.sh

minutes=10 cfg=3 seeds=2 out=""
parse_flags 2,13 --minutes=minutes --num=num --cfg=cfg --seeds=seeds --out=out --quick=quick=1 \
  -- "$@"
limits=(--max-minutes "$minutes" --max-train-steps 1000000 --checkpointing-steps 50)
if [ "$quick" = 1 ]; then
  num=16 batch=16 seeds=1
  limits=(--max-train-steps 20 --checkpointing-steps 10 --batch-size 16)
fi
experiment_setup e1

echo "E1: training ELIT-SiT and SiT side by side, one thread each (${limits[*]}) -> $out/runs"
train_model elit configs/fmnist_elit_s4.yaml --threads 1 --sampling-steps 0 "${limits[@]}" > /dev/null &
elit_pid=$!
train_model sit configs/fmnist_sit_s4.yaml --threads 1 --sampling-steps 0 "${limits[@]}" > /dev/null &
sit_pid=$!
wait "$elit_pid"
wait "$sit_pid"

last_step() { checkpoint_steps "$1" | tail -1; }
elit_last=$(last_step "$out/runs/elit")
sit_last=$(last_step "$out/runs/sit")
common=$(comm -12 <(checkpoint_steps "$out/runs/elit" | sort) <(checkpoint_steps "$out/runs/sit" | sort) |
  sort -n | tail -1)
echo "  updates in the same time: ELIT $elit_last, SiT $sit_last; equal updates at $common"
ckpt() { printf '%s/checkpoints/%07d' "$1" "$2"; }

evaluate() {  # model step comparison
  local model="$1" step="$2" comparison="$3" scale seed
  for scale in 1 "$cfg"; do
    local extra="{\"model\": \"$model\", \"updates\": $step, \"comparison\": \"$comparison\"}"
    sample_and_eval "$model-$step-cfg$scale" "$(ckpt "$out/runs/$model" "$step")" "$extra" \
      --cfg-scale "$scale" --seed 0
  done
}
evaluate elit "$elit_last" "equal time"
evaluate sit "$sit_last" "equal time"
[ "$common" = "$elit_last" ] || evaluate elit "$common" "equal updates"
[ "$common" = "$sit_last" ] || evaluate sit "$common" "equal updates"
for ((k = 1; k < seeds; k++)); do  # the spread: the equal-time pair from other noise
  for model in elit sit; do
    step=$([ "$model" = elit ] && echo "$elit_last" || echo "$sit_last")
    sample_and_eval "$model-$step-cfg$cfg-seed$((1000 * k))" "$(ckpt "$out/runs/$model" "$step")" \
      "{\"model\": \"$model\", \"updates\": $step, \"comparison\": \"equal time\"}" \
      --cfg-scale "$cfg" --seed $((1000 * k))
  done
done

python3 scripts/experiments/report.py e1 "$out" --minutes "$minutes"
