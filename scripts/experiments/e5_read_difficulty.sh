#!/usr/bin/env bash
# E5 (docs/experiments.md): does Read attend where the image is hard? elit read-difficulty at
# several noise seeds (the spread), for one model: Spearman correlation of every token's Read mass
# with its share of the flow-matching loss, with its share of the pixel variance, and the chance
# level (another image's loss shares).
# Writes seed<S>/ (elit read-difficulty's results.json, table.md, correlation.svg per seed),
# results.json (every seed) and table.md (mean over seeds, and the spread).
#   scripts/experiments/e5_read_difficulty.sh --ckpt RUN [--num 1000] [--times 0.25,0.5,0.75]
#                                             [--seeds 2] [--budget 1] [--out runs/experiments/e5]
#                                             [--quick]
#     --quick  a model trained for 20 updates, 20 images, one seed: checks the script (CI)
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/parse_flags.sh
source scripts/experiments/common.sh

ckpt="" times="0.25,0.5,0.75" seeds=2 budget=1 out=""
parse_flags 2,12 --ckpt=ckpt --num=num --times=times --seeds=seeds --budget=budget --out=out \
  --quick=quick=1 -- "$@"
[ "$quick" = 1 ] && num=20 seeds=1 times=0.5
[ -n "$ckpt" ] || [ "$quick" = 1 ] || { echo "e5_read_difficulty.sh: --ckpt RUN is required" >&2; exit 2; }
elit=${ELIT:-build/elit}
out=${out:-runs/experiments/e5}
mkdir -p "$out"
if [ -z "$ckpt" ]; then
  ckpt=$(train_model model configs/fmnist_elit_s4.yaml --sampling-steps 0 --max-train-steps 20 \
    --batch-size 16)
fi

echo "E5: $num held-out images, t = $times, budget $budget, $seeds noise seed(s)"
for ((s = 0; s < seeds; s++)); do
  "$elit" -q read-difficulty --ckpt "$ckpt" --num "$num" --times "$times" --budget "$budget" \
    --seed "$s" --out "$out/seed$s" > "$out/seed$s.log" 2>&1 || { cat "$out/seed$s.log" >&2; exit 1; }
done

python3 - "$out" "$seeds" <<'PY'
import json, sys
out, seeds = sys.argv[1], int(sys.argv[2])
runs = [json.load(open(f"{out}/seed{s}/results.json")) for s in range(seeds)]
keys = ("mass_vs_loss", "mass_vs_variance", "chance")
lines = ["| t | Spearman(mass, loss share) | Spearman(mass, variance share) | chance (another image's loss) | image-specific (loss - chance) |",
         "| ---: | ---: | ---: | ---: | ---: |"]
summary = []
for i, row in enumerate(runs[0]["results"]):
    vals = {k: [r["results"][i][k]["mean"] for r in runs] for k in keys}
    mean = {k: sum(v) / len(v) for k, v in vals.items()}
    spread = {k: max(v) - min(v) for k, v in vals.items()}
    summary.append({"t": row["t"], "mean": mean, "seed_spread": spread, "per_seed": vals})
    cell = lambda k: f"{mean[k]:.3f}" + (f" (spread {spread[k]:.3f})" if seeds > 1 else "")
    lines.append(f"| {row['t']:g} | {cell('mass_vs_loss')} | {cell('mass_vs_variance')} | "
                 f"{cell('chance')} | {mean['mass_vs_loss'] - mean['chance']:+.3f} |")
sem = max(r["results"][0]["mass_vs_loss"]["sem"] for r in runs)
notes = [f"{runs[0]['images']} held-out test images, budget {runs[0]['budget']:g}, "
         f"{seeds} noise seed(s); mean over seeds (spread = max - min over seeds); "
         f"standard error over images ~{sem:.3f}"]
text = "\n".join(lines) + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"
open(f"{out}/table.md", "w").write(text)
json.dump({"experiment": "e5", "seeds": seeds, "summary": summary, "runs": runs},
          open(f"{out}/results.json", "w"), indent=1)
print(text)
PY
