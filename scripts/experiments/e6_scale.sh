#!/usr/bin/env bash
# E6 (docs/experiments.md): E1 and E2 again at a larger scale, to see which way the gaps move:
# ELIT-SiT against SiT trained side by side for twice E1's minutes (e1_elit_vs_sit.sh), then the
# quality at every budget of that longer-trained ELIT-SiT (e2_budgets.sh on it).
#   scripts/experiments/e6_scale.sh [--minutes 20] [--num 500] [--out runs/experiments/e6] [--quick]
#     --quick  both steps in their --quick mode (CI)
# Time: about --minutes + 8 for the E1 step, + 4 for the E2 step (500 images per setting): 32
# minutes with the defaults, measured.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/parse_flags.sh

minutes=20 num=500 out="runs/experiments/e6" quick=0
parse_flags 2,8 --minutes=minutes --num=num --out=out --quick=quick=1 -- "$@"
quick_flag=()
[ "$quick" = 0 ] || quick_flag=(--quick)
scripts/experiments/e1_elit_vs_sit.sh --minutes "$minutes" --num "$num" --seeds 1 \
  --out "$out/e1" "${quick_flag[@]}"
scripts/experiments/e2_budgets.sh --ckpt "$out/e1/runs/elit" --num "$num" --out "$out/e2" \
  "${quick_flag[@]}"
