#!/usr/bin/env bash
# elit against the published ELIT code (github snap-research/elit) on the same model, in the same
# session, on the same libraries (Debian's torch 1.13 + OpenBLAS, what elit's libtorch is).
# R rounds, each: published forward, elit forward (same config, batch, budgets), published
# sampler on K images, elit sampler on the same K images (same seeds, labels, steps, CFG).
# Writes one JSON line per measurement (with "round" and "side") to --out and prints the median
# per side and the ratio elit / published; checks that both samplers drew the same images.
#   scripts/compare_published.sh [--weights FILE] [--rounds R] [--images K] [--steps S]
#       [--cfg-scale C] [--batch B] [--budgets "1 0.25"] [--threads T] [--out FILE]
#       [--forward-steps F] [--published DIR] [--deps DIR] [--train]
#   defaults: runs/serve-model/checkpoints/0002717/ema.safetensors, 3 rounds, 16 images,
#   50 steps, CFG 3, batch 16, budget 1, $(nproc) threads, 10 timed forwards per budget and
#   round (median; after 2 warm-up), out runs/compare-published.jsonl,
#   published tree ../published-elit, its timm/einops ../published-elit-deps (beside the repo;
#   relative paths are from the repo root).
#   --train also times one training update per budget on both sides (elit bench train).
# Needs (say so when missing):
#   - /usr/bin/python3 with torch:  ELIT_WITH_PUBLISHED_BENCH=1 scripts/setup.sh --no-build
#   - the published tree: fetch github:snap-research/elit (the search tools' fetch), then from
#     its git dir G:  mkdir -p ../published-elit && git --git-dir=G archive HEAD models elit_utils
#     dfm_utils samplers.py loss.py | tar -x -C ../published-elit
#   - timm and einops (the published code imports them; Debian has neither): fetch
#     github:huggingface/pytorch-image-models (git dir T) and github:arogozhnikov/einops (E), then
#     mkdir -p ../published-elit-deps && git --git-dir=T archive v1.0.28 timm | tar -x -C
#     ../published-elit-deps && git --git-dir=E archive v0.8.2 einops | tar -x -C ../published-elit-deps
#   - build/elit (scripts/setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/parse_flags.sh

weights="runs/serve-model/checkpoints/0002717/ema.safetensors" rounds=3 images=16 steps=50 cfg=3
batch=16 budgets="1" threads="$(nproc)" out="runs/compare-published.jsonl" train=0 fsteps=10
published="../published-elit" deps="${ELIT_PUBLISHED_DEPS:-}"
parse_flags 2,27 --weights=weights --rounds=rounds --images=images --steps=steps --cfg-scale=cfg \
  --batch=batch --budgets=budgets --threads=threads --forward-steps=fsteps --out=out \
  --published=published --deps=deps --train=train=1 -- "$@"
deps="${deps:-${published%/}-deps}"
py=/usr/bin/python3 elit=build/elit
fail() { echo "compare_published.sh: $*" >&2; exit 1; }

# ------------------------------------------------------------------ prerequisites
"$py" -c 'import torch, numpy' 2>/dev/null ||
  fail "$py has no torch/numpy: install Debian's with ELIT_WITH_PUBLISHED_BENCH=1 scripts/setup.sh --no-build"
{ [ -f "$published/models/sit_elit.py" ] && [ -f "$published/samplers.py" ]; } ||
  fail "no published ELIT work tree at '$published' (--published DIR): fetch github:snap-research/elit" \
       "and extract it there (see --help for the command)"
PYTHONPATH="$deps" "$py" -c 'import timm.models.vision_transformer, einops' 2>/dev/null ||
  fail "timm/einops not importable from '$deps' (--deps DIR), which the published code imports:" \
       "fetch github:huggingface/pytorch-image-models and github:arogozhnikov/einops and extract" \
       "their timm/ and einops/ there (see --help); timm also needs python3-torchvision"
[ -x "$elit" ] || fail "no $elit: build it with scripts/setup.sh"
[ -f "$weights" ] || fail "no weights '$weights' (--weights FILE: an elit .safetensors)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$(dirname "$out")"
: > "$out"
# elit bench takes the model configuration as a file: the one stored in the weights.
"$py" - "$weights" "$tmp/model.json" <<'EOF'
import json, struct, sys
with open(sys.argv[1], "rb") as f:
    header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
open(sys.argv[2], "w").write(header["__metadata__"]["elit.model_config"])
EOF

export OMP_NUM_THREADS="$threads"  # elit's thread count; the published side gets --threads too
emit() {  # side round: the JSON lines on stdin -> $out, tagged with the side and round
  "$py" -c '
import json, sys
for line in sys.stdin:
    if line.startswith("{"):
        row = json.loads(line)
        row.setdefault("side", sys.argv[1])
        row["round"] = int(sys.argv[2])
        print(json.dumps(row))' "$1" "$2" >> "$out"
}
pub_args=(--published "$published" --deps "$deps" --threads "$threads")
# shellcheck disable=SC2206  # budgets are words
budget_list=($budgets)
train_flag=()
[ "$train" = 1 ] && train_flag=(--train)

for r in $(seq 1 "$rounds"); do
  echo "[compare] round $r/$rounds: forward (batch $batch, budgets $budgets, $threads threads)"
  "$py" bench/published/forward.py "${pub_args[@]}" --model-config "$tmp/model.json" \
    --batch "$batch" --budgets "${budget_list[@]}" --steps "$fsteps" --warmup 2 "${train_flag[@]}" \
    2> "$tmp/pub_forward.log" | emit published "$r" || { cat "$tmp/pub_forward.log" >&2; exit 1; }
  "$elit" bench forward --model-config "$tmp/model.json" --batch "$batch" \
    --budgets "${budget_list[@]}" --steps "$fsteps" --warmup 2 --no-matmul-peak 2> "$tmp/elit_forward.log" |
    emit elit "$r" || { cat "$tmp/elit_forward.log" >&2; exit 1; }
  if [ "$train" = 1 ]; then
    "$elit" bench train --model-config "$tmp/model.json" --batch "$batch" \
      --budgets "${budget_list[@]}" --steps "$fsteps" --warmup 2 2> "$tmp/elit_train.log" |
      emit elit "$r" || { cat "$tmp/elit_train.log" >&2; exit 1; }
  fi

  echo "[compare] round $r/$rounds: sampling $images images, $steps Euler steps, CFG $cfg"
  "$py" bench/published/sample.py "${pub_args[@]}" --weights "$weights" --num "$images" \
    --seed 0 --classes all --steps "$steps" --cfg-scale "$cfg" --batch-size "$batch" \
    --out "$tmp/pub" > "$tmp/pub_sample.log" 2>&1 || { cat "$tmp/pub_sample.log" >&2; exit 1; }
  "$elit" sample --ckpt "$weights" --num "$images" --seed 0 --classes all --steps "$steps" \
    --cfg-scale "$cfg" --batch-size "$batch" --out "$tmp/elit" > "$tmp/elit_sample.log" 2>&1 ||
    { cat "$tmp/elit_sample.log" >&2; exit 1; }
  "$py" - "$tmp" "$threads" <<'EOF' | emit sample "$r"
import json, sys
import numpy as np
tmp, threads = sys.argv[1], int(sys.argv[2])
pub = json.load(open(f"{tmp}/pub/timing.json"))
ours = json.load(open(f"{tmp}/elit/sample.json"))
a = np.load(f"{tmp}/pub/samples.npz")["arr_0"].astype(np.int16)
b = np.load(f"{tmp}/elit/samples.npz")["arr_0"].astype(np.int16)
diff = np.abs(a - b) if a.shape == b.shape else None
same = {"max_abs_diff": int(diff.max()) if diff is not None else None,
        "pixels_differing": int((diff > 0).sum()) if diff is not None else None}
common = {"what": "sample", "images": pub["images"], "steps": pub["steps"],
          "cfg_scale": pub["cfg_scale"], "batch": pub["batch_size"], "budget": 1.0, **same}
print(json.dumps({**common, "side": "published", "seconds": pub["seconds"],
                  "images_per_s": pub["images_per_s"], "threads": pub["threads"]}))
print(json.dumps({**common, "side": "elit", "seconds": ours["seconds"],
                  "images_per_s": ours["images"] / ours["seconds"], "threads": threads}))
EOF
  rm -rf "$tmp/pub" "$tmp/elit"
done

# ------------------------------------------------------------------ summary
"$py" - "$out" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
groups = {}
for r in rows:
    groups.setdefault((r["what"], r["budget"], r["side"]), []).append(r["images_per_s"])
print(f"{'measurement':<22} {'published img/s':>16} {'elit img/s':>12} {'elit/published':>15}")
for what, budget in sorted({(w, b) for w, b, _ in groups}):
    pub = groups.get((what, budget, "published"))
    ours = groups.get((what, budget, "elit"))
    if not pub or not ours:
        continue
    p, e = statistics.median(pub), statistics.median(ours)
    print(f"{what + ' budget ' + format(budget, 'g'):<22} {p:>16.1f} {e:>12.1f} {e / p:>14.2f}x")
diffs = [r["max_abs_diff"] for r in rows if r["what"] == "sample"]
worst = "shapes differ" if None in diffs else max(diffs)
print(f"sampler images: max |published - elit| = {worst} (uint8 levels, all rounds); "
      f"medians over {max(r['round'] for r in rows)} rounds; lines in {sys.argv[1]}")
EOF
