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

minutes=20 num=500 out="runs/experiments/e6" quick=()
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes="$2"; shift 2 ;;
    --num) num="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --quick) quick=(--quick); shift ;;
    -h|--help) sed -n 2,8p "$0"; exit 0 ;;
    *) echo "e6_scale.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
scripts/experiments/e1_elit_vs_sit.sh --minutes "$minutes" --num "$num" --seeds 1 \
  --out "$out/e1" "${quick[@]}"
scripts/experiments/e2_budgets.sh --ckpt "$out/e1/runs/elit" --num "$num" --out "$out/e2" \
  "${quick[@]}"
