#!/usr/bin/env bash
# Latent space end to end on this machine (docs/latent.md): train a tiny KL autoencoder on
# Fashion-MNIST, encode the training set into latent shards, train the small multi-budget
# ELIT-SiT on the latents, sample at several budgets decoding with the VAE, and score the images
# with elit eval. Each stage's wall time goes to OUT/times.tsv, FD per budget to OUT/fd.tsv.
#
#   scripts/latent_e2e.sh [--vae-minutes M] [--train-minutes M] [--num N] [--out DIR]
#     --vae-minutes M    train-vae time limit (default 4)
#     --train-minutes M  ELIT-SiT time limit on the latents (default 10)
#     --num N            images per budget for FD (default 500)
#     --pixel-run DIR    also sample and score this pixel-space run (scripts/main_job.sh) the same way
#     --out DIR          output folder (default runs/latent_e2e-<date>-<time>)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/parse_flags.sh

vae_minutes=4
train_minutes=10
num=500
pixel_run=""
out=""
parse_flags 2,13 --vae-minutes=vae_minutes --train-minutes=train_minutes --num=num \
  --pixel-run=pixel_run --out=out -- "$@"
[ -n "$out" ] || out="runs/latent_e2e-$(date +%Y%m%d-%H%M%S)"
elit=build/elit
[ -x "$elit" ] || { echo "build elit first (scripts/setup.sh)" >&2; exit 1; }
mkdir -p "$out"
printf 'stage\tseconds\n' > "$out/times.tsv"
stage() {  # stage NAME COMMAND...: runs and records the wall time
  local name="$1"; shift
  echo; echo "== $name"
  local start=$SECONDS
  "$@"
  printf '%s\t%s\n' "$name" "$((SECONDS - start))" >> "$out/times.tsv"
}

stage train-vae "$elit" train-vae --data fashion-mnist --max-minutes "$vae_minutes" \
  --steps 100000 --batch-size 32 --out "$out/vae"
scale=$(sed -n 's/.*"scale_factor": \([0-9.e+-]*\).*/\1/p' "$out/vae/train_vae.json")
echo "VAE scale factor (1 / std of the latents): $scale"

stage encode-dataset "$elit" encode-dataset --vae "$out/vae/vae.safetensors" \
  --data fashion-mnist --resolution 32 --vae-batch 256 --out "$out/latents"

stage train "$elit" train --config configs/fmnist_latent_elit.yaml --data-dir "$out/latents" \
  --latents-scale "$scale" --output-dir "$out" --exp-name elit --max-minutes "$train_minutes"

printf 'model\tbudget\tFD\tfloor\n' > "$out/fd.tsv"
score() {  # score NAME RUN EXTRA_SAMPLE_FLAGS...: samples at each budget, then FD
  local name="$1" run="$2"; shift 2
  for b in 0.25 0.5 1; do
    stage "sample-$name-b$b" "$elit" sample --ckpt "$run" "$@" --classes all --num "$num" \
      --budget "$b" --cfg-scale 3 --steps 50 --batch-size 100 --out "$out/$name-b$b"
    stage "eval-$name-b$b" "$elit" eval --samples "$out/$name-b$b/samples.npz" \
      --ref-dataset fashion-mnist --no-cas --json "$out/$name-b$b/eval.json" \
      | tee "$out/$name-b$b/eval.txt"
    fd=$(awk '/^FD /{print $2; exit}' "$out/$name-b$b/eval.txt")
    floor=$(sed -n 's/^FD .*floor \([0-9.e+-]*\),.*/\1/p' "$out/$name-b$b/eval.txt" | head -1)
    printf '%s\t%s\t%s\t%s\n' "$name" "$b" "$fd" "$floor" >> "$out/fd.tsv"
  done
}
score latent "$out/elit" --vae "$out/vae/vae.safetensors"
[ -z "$pixel_run" ] || score pixel "$pixel_run"

echo; echo "== done: $out"
column -t "$out/times.tsv"; echo; column -t "$out/fd.tsv"
