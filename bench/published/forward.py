"""Time the *published* ELIT-SiT model (github snap-research/elit): eval forward and training step.

The published half of an interleaved comparison with `build/elit bench forward` and
`build/elit bench train`: the same configuration (an elit model config with the published
constructor names, or the one in an elit .safetensors), batch, budgets and threads, run by the
published SiTELIT (models/sit_elit.py). Each round runs one measurement per budget (budgets
interleaved, like elit's bench), after --warmup untimed rounds. Prints one JSON line per
budget, with elit's field names where they mean the same:
  forward: {"what": "forward", "side": "published", "model", "batch", "input_size": [C, H, W],
            "budget", "dtype", "threads", "steps", "median_s", "min_s", "images_per_s",
            "time_ratio" (median per-round time(b) / time(1)), "params", "torch"}
  train:   the same with "what": "train": one update as published train.py does it: SILoss
           (loss.py, linear path, v prediction, uniform t), backward, clip_grad_norm_(1.0),
           AdamW(lr 1e-4, betas (0.9, 0.999), eps 1e-8, weight decay 0), zero_grad, EMA update
           (decay 0.9999, train.py's update_ema). The budget is fixed with the published
           inference_budget argument (published training draws it on rank 0 of a process group).

  /usr/bin/python3 bench/published/forward.py --published /work/published-elit \
      --weights runs/serve-model/checkpoints/0002717/ema.safetensors \
      --batch 16 --budgets 1 0.25 --threads 2 --steps 5 [--train]

Inputs: x ~ N(0, 1) [B, C, H, W] float32, t ~ U(0, 1), labels cycling 0..num_classes-1; the
model runs in float32 under torch.no_grad() for the forward. Needs what sample.py needs.
"""
import argparse
import copy
import json
import os
import statistics
import sys
import time

import torch

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sample import build_model, import_published, load_weights  # noqa: E402


def read_config(text):
    if os.path.isfile(text):
        with open(text) as f:
            text = f.read()
    return json.loads(text)


def forward_step(model, x, t, y, budget):
    with torch.no_grad():
        model(x, t, y=y, inference_budget=budget)


class TrainStep:
    """One published training update (train.py's loop body, without accelerate)."""

    def __init__(self, model):
        from loss import SILoss
        self.model = model.train()
        self.ema = copy.deepcopy(model).eval()
        for p in self.ema.parameters():
            p.requires_grad_(False)
        self.loss_fn = SILoss(prediction="v", path_type="linear", weighting="uniform")
        self.opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.999),
                                     weight_decay=0.0, eps=1e-8)

    def __call__(self, x, t, y, budget):
        loss, _ = self.loss_fn(self.model, x, dict(y=y, inference_budget=budget))
        loss.mean().backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        with torch.no_grad():  # train.py update_ema(ema, model), decay 0.9999
            ema = dict(self.ema.named_parameters())
            for name, p in self.model.named_parameters():
                ema[name].mul_(0.9999).add_(p.data, alpha=1 - 0.9999)


def measure(step, what, kwargs, config, args, params):
    c, s = kwargs["in_channels"], kwargs["input_size"]
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch, c, s, s, generator=g)
    t = torch.rand(args.batch, generator=g)
    y = torch.arange(args.batch) % kwargs["num_classes"]
    times = {b: [] for b in args.budgets}
    for r in range(args.warmup + args.steps):
        for b in args.budgets:
            start = time.perf_counter()
            step(x, t, y, b)
            if r >= args.warmup:
                times[b].append(time.perf_counter() - start)
    ref = times.get(1.0)
    for b in args.budgets:
        med = statistics.median(times[b])
        row = {"what": what, "side": "published", "model": config.get("model", "SiTELIT"),
               "batch": args.batch, "input_size": [c, s, s], "budget": b, "dtype": "float32",
               "threads": torch.get_num_threads(), "steps": args.steps, "median_s": med,
               "min_s": min(times[b]), "images_per_s": args.batch / med,
               "time_ratio": statistics.median(tb / t1 for tb, t1 in zip(times[b], ref)) if ref else None,
               "params": params, "torch": torch.__version__}
        line = json.dumps(row)
        print(line, flush=True)
        if args.out:
            with open(args.out, "a") as f:
                f.write(line + "\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--published", required=True, help="work tree of github snap-research/elit")
    p.add_argument("--deps", help="folder with the timm/ and einops/ packages (default: "
                   "$ELIT_PUBLISHED_DEPS, else PUBLISHED-deps beside the published tree)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--weights", help="elit .safetensors (config and weights)")
    src.add_argument("--model-config", help="JSON file or string, published constructor names "
                     "(random published initialisation)")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--budgets", "--budget", type=float, nargs="+", default=[1.0])
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    p.add_argument("--steps", type=int, default=5, help="timed rounds (median reported)")
    p.add_argument("--warmup", type=int, default=2, help="untimed rounds first")
    p.add_argument("--train", action="store_true", help="also time training updates")
    p.add_argument("--no-forward", action="store_true", help="only the training updates")
    p.add_argument("--out", help="also append the JSON lines to this file")
    args = p.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    SiTELIT, _ = import_published(args.published, args.deps)
    if args.weights:
        model, kwargs, _, config = load_weights(SiTELIT, args.weights)
    else:
        config = read_config(args.model_config)
        model, kwargs, _ = build_model(SiTELIT, config)
    params = sum(q.numel() for q in model.parameters())
    if not args.no_forward:
        measure(lambda x, t, y, b: forward_step(model, x, t, y, b), "forward", kwargs, config,
                args, params)
    if args.train:
        measure(TrainStep(model), "train", kwargs, config, args, params)


if __name__ == "__main__":
    main()
