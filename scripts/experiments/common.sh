# Shared by the experiment scripts (docs/experiments.md); sourced, not run. Provides:
#   experiment_setup NAME         after the script's own flag parsing: $out, $elit, $ref and, with
#                                 --quick, a small classifier of its own (ELIT_CLASSIFIER)
#   train_model NAME CONFIG [train flags]   elit train into $out/runs/NAME (prints the run folder)
#   sample_and_eval NAME CKPT EXTRA_JSON [sample flags]
#                                 N images of every class (seeds from --seed) with elit sample,
#                                 FD / precision / recall with elit eval, one JSON line appended to
#                                 $out/results.jsonl: name, fd, fd_floor, precision, recall,
#                                 images_per_s, flops_per_image, steps, budget, guidance, ... plus
#                                 EXTRA_JSON's keys
#   checkpoint_steps RUN          the steps of RUN's complete checkpoints, ascending
# Variables a script may set before experiment_setup: num (images per setting), batch, quick.
# Each script's --quick runs the same code paths on a few images and updates (CI, <= 2 min).

num=${num:-1000}
batch=${batch:-100}
quick=${quick:-0}

experiment_setup() {  # name
  elit=${ELIT:-build/elit}
  [ -x "$elit" ] || { echo "$1: $elit not built (scripts/setup.sh)" >&2; exit 2; }
  out=${out:-runs/experiments/$1}
  mkdir -p "$out"
  : > "$out/results.jsonl"
  eval_flags=(--no-cas)
  if [ "$quick" = 1 ]; then
    # Features from a classifier trained for seconds: the numbers mean nothing, the paths run.
    export ELIT_CLASSIFIER="$out/quick-classifier.safetensors"
    [ -f "$ELIT_CLASSIFIER" ] ||
      "$elit" -q train-classifier --epochs 1 --max-seconds 5 --out "$ELIT_CLASSIFIER" > /dev/null
    ref="$out/quick-ref.npz"
    [ -f "$ref" ] ||
      "$elit" -q ref-stats --dataset fashion-mnist --size 32 --count 2000 --keep-images 500 \
        --out "$ref" > /dev/null
    eval_flags+=(--floor-limit 500 --ref-limit 500)
  else
    # The default classifier's reference statistics (the same file the sampling benchmark writes).
    ref="$out/fashion_mnist_train_ref.npz"
    [ -f "$ref" ] || "$elit" ref-stats --dataset fashion-mnist --size 32 --out "$ref"
  fi
}

train_model() {  # name config [elit train flags...]
  local name="$1" config="$2"
  shift 2
  mkdir -p "$out/runs"
  "$elit" -q train --config "$config" --output-dir "$out/runs" --exp-name "$name" "$@" \
    > "$out/runs/$name.log" 2>&1 || { tail -20 "$out/runs/$name.log" >&2; exit 1; }
  echo "$out/runs/$name"
}

checkpoint_steps() {  # run folder -> the steps of its complete checkpoints (they have ema weights)
  local d
  for d in "$1"/checkpoints/*/; do
    [ -f "$d/ema.safetensors" ] && basename "$d" | sed 's/^0*//; s/^$/0/'
  done | sort -n
}

sample_and_eval() {  # name ckpt extra_json [elit sample flags...]
  local name="$1" ckpt="$2" extra="$3"
  shift 3
  local dir="$out/$name"
  mkdir -p "$dir"
  "$elit" -q sample --ckpt "$ckpt" --classes all --num "$num" --batch-size "$batch" \
    --out "$dir" "$@" > "$dir/sample.log" 2>&1 || { cat "$dir/sample.log" >&2; exit 1; }
  "$elit" -q eval --samples "$dir/samples.npz" --ref "$ref" "${eval_flags[@]}" \
    --json "$dir/eval.json" > "$dir/eval.log" 2>&1 || { cat "$dir/eval.log" >&2; exit 1; }
  python3 - "$name" "$dir" "$extra" "$*" >> "$out/results.jsonl" <<'EOF'
import json, sys
name, d, extra, flags = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
s, e = json.load(open(f"{d}/sample.json")), json.load(open(f"{d}/eval.json"))
row = {"name": name, "flags": flags, "n": s["images"], "fd": e["fd"]["value"],
       "fd_floor": e["fd"]["floor"], "precision": e["precision"], "recall": e["recall"],
       "images_per_s": s["images"] / s["seconds"], "flops_per_image": s.get("flops_per_image")}
for k in ("steps", "sampler", "budget", "guidance", "cfg_scale", "uncond_budget", "seed", "dtype"):
    row[k] = s.get(k)
row.update(extra)
print(json.dumps(row))
EOF
  tail -1 "$out/results.jsonl" | python3 -c 'import json, sys
r = json.load(sys.stdin)
print("  %s: FD %.2f (floor %.2f), precision %.3f, recall %.3f, %.1f images/s" % (r["name"],
      r["fd"], r["fd_floor"], r["precision"], r["recall"], r["images_per_s"]))'
}
