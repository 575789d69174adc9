#!/usr/bin/env bash
# Checkpoint durability (issue 21): SIGKILLs a tiny `elit train` run at random moments, again and
# again, and checks after every kill that
#   * the latest complete checkpoint loads (every weights file, checked tensor by tensor),
#   * the next --resume continues from exactly that checkpoint (its log says so),
#   * no half-written folder is ever taken for a checkpoint (.tmp-/.old- are cleaned on resume).
#   scripts/kill_loop.sh [--kills N] [--build DIR] [--max-wait SECONDS]
# Prints one line per kill and a summary; exits non-zero at the first violation.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/parse_flags.sh
kills=50 build=build max_wait=4
parse_flags 2,8 --kills=kills --build=build --max-wait=max_wait -- "$@"
elit="$build/elit"
[[ -x "$elit" ]] || { echo "no $elit: build the elit_cli target first" >&2; exit 2; }
work=$(mktemp -d /tmp/elit-kill-loop.XXXXXX)
trap 'rm -rf "$work"' EXIT
cat > "$work/tiny.yaml" <<'YAML'
exp_name: kill
model: ELIT-SiT-S/4
model_config: {hidden_size: 32, depth: 3, num_heads: 2, dit_decoder_depth: 1}
encoder_depth: 1
elit_group_size: 2
split: test
resolution: 16
batch_size: 4
num_workers: 1
sampling_steps: 0
checkpointing_steps: 1
max_train_steps: 1000000
threads: 1
YAML
run="$work/kill"
latest_complete() {  # the highest step folder with a trainer state, or -1
  local best=-1 d
  for d in "$run"/checkpoints/[0-9][0-9][0-9][0-9][0-9][0-9][0-9]; do
    [[ -f "$d/trainer_state.json" ]] || continue
    local s=$((10#$(basename "$d")))
    ((s > best)) && best=$s
  done
  echo "$best"
}
fail() { echo "FAIL after kill $i: $*" >&2; exit 1; }
prev=-1 resumed=0 started=$(date +%s)
for ((i = 1; i <= kills; i++)); do
  before=$( (cat "$run/log.txt" 2> /dev/null || true) | wc -l)
  "$elit" -q train --config "$work/tiny.yaml" --output-dir "$work" --resume > "$work/out.txt" 2>&1 &
  pid=$!
  # A random moment: during start-up, a step, or a checkpoint save (one every step).
  sleep "$(awk -v s="$RANDOM" -v m="$max_wait" 'BEGIN { srand(s); printf "%.2f", 0.2 + rand() * m }')"
  kill -9 "$pid" 2> /dev/null || true
  wait "$pid" 2> /dev/null || true
  # If this run got as far as resuming, it resumed from the previous run's latest checkpoint.
  said=$(tail -n +$((before + 1)) "$run/log.txt" 2> /dev/null | grep "^resumed from" || true)
  if [[ -n "$said" ]]; then
    [[ "$said" == *"/$(printf '%07d' "$prev") (step $prev)" ]] ||
      fail "resumed from the wrong checkpoint: '$said' (latest complete was $prev)"
    resumed=$((resumed + 1))
  fi
  latest=$(latest_complete)
  ((latest >= prev)) || fail "latest checkpoint went back from $prev to $latest"
  if ((latest >= 0)); then
    dir="$run/checkpoints/$(printf '%07d' "$latest")"
    for f in model.safetensors ema.safetensors optimizer.safetensors trainer_state.json; do
      [[ -s "$dir/$f" ]] || fail "$dir/$f missing or empty"
    done
    "$elit" -q info "$dir/ema.safetensors" > /dev/null 2> "$work/info.txt" ||
      fail "latest checkpoint $dir does not load: $(cat "$work/info.txt")"
    "$elit" -q info "$dir/model.safetensors" > /dev/null 2> "$work/info.txt" ||
      fail "latest checkpoint $dir does not load: $(cat "$work/info.txt")"
  fi
  echo "kill $i: latest complete checkpoint $latest"
  prev=$latest
done
# A final clean resume: it continues from the last complete checkpoint and cleans up.
"$elit" -q train --config "$work/tiny.yaml" --output-dir "$work" --resume --max-train-steps $((prev + 1)) \
  > "$work/out.txt" 2>&1 || fail "final resume failed: $(tail -3 "$work/out.txt")"
tail -5 "$run/log.txt" | grep -q "resumed from .*/$(printf '%07d' "$prev") (step $prev)" ||
  fail "final resume did not continue from step $prev: $(tail -5 "$run/log.txt")"
leftover=$(find "$run/checkpoints" -maxdepth 1 -name '.tmp-*' -o -maxdepth 1 -name '.old-*' | wc -l)
((leftover == 0)) || fail "half-written folders left after a resume: $leftover"
echo "kill loop: $kills kills in $(($(date +%s) - started)) s, last checkpoint step $prev," \
  "$resumed runs resumed from the right checkpoint, final resume from step $prev OK, no half-written folders left"
