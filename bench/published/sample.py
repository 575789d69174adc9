"""Sample images with the *published* ELIT code (github snap-research/elit) from an elit checkpoint.

The published half of a side-by-side comparison with `build/elit sample`: the same trained model
(an elit .safetensors, whose tensor names are the published state_dict keys), the same initial
noise (elit's per-image seeds, src/sampling/seeds.cpp), the same labels and the same uint8
conversion (src/io/image.cpp), run by the published model class (models/sit_elit.py: SiTELIT) and
the published Euler step (samplers.py: _velocity_step, cond and uncond batched for CFG).
It measures the wall time of sampling alone (noise and Euler steps, what `elit sample` reports as
"seconds"; not the model load or the file writing) and writes
  OUT/samples.npz   arr_0 uint8 [N, H, W, C] and arr_1 int64 labels, as `elit sample` writes it
  OUT/timing.json   {"images", "seconds", "images_per_s", "steps", "cfg_scale", "torch", ...}

Needs Debian's torch 1.13 (ELIT_WITH_PUBLISHED_BENCH=1 scripts/setup.sh --no-build) run by
/usr/bin/python3, a work tree of the published code (--published) and, since the published code
imports timm and einops (not packaged for Debian), their source trees (--deps: a folder holding
the timm/ and einops/ packages; default $ELIT_PUBLISHED_DEPS, else the folder PUBLISHED-deps
beside the published tree). scripts/compare_published.sh --help says how to get them.

  /usr/bin/python3 bench/published/sample.py --published /work/published-elit \
      --weights runs/serve-model/checkpoints/0002717/ema.safetensors \
      --num 16 --steps 50 --cfg-scale 3 --batch-size 16 --threads 2 --out /tmp/published-samples

Where the published code does not run as is on torch 1.13 or on a 10-class model, this script
works around it, and only there:
  - F.scaled_dot_product_attention and torch.backends.cuda.sdp_kernel (torch >= 2.0) are given a
    plain softmax(q k^T / sqrt(d)) v and a no-op context, installed after timm is imported, so
    timm's Attention keeps its own torch-1.13 path (fused_attn=False, as generate.py defaults).
  - euler_sampler's null label is hard-coded to 1000 (ImageNet); the loop here is euler_sampler's
    with y_null = num_classes (the label embedder's null row) and calls the published
    _velocity_step for every step.
"""
import argparse
import contextlib
import inspect
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch

MASK64 = (1 << 64) - 1


# ---------------------------------------------------------------- published code and its imports
def default_deps(published):
    """$ELIT_PUBLISHED_DEPS, else the folder beside the published tree named '<tree>-deps'."""
    sibling = os.path.abspath(published).rstrip("/") + "-deps"
    return os.environ.get("ELIT_PUBLISHED_DEPS") or (sibling if os.path.isdir(sibling) else None)


def import_published(published, deps=None):
    """Puts the published tree (and the timm/einops trees) on sys.path; returns (SiTELIT, samplers)."""
    for path in (deps or default_deps(published), published):
        if path:
            if not os.path.isdir(path):
                sys.exit(f"error: no such folder {path}")
            sys.path.insert(0, os.path.abspath(path))
    try:
        import timm.models.vision_transformer  # noqa: F401  (decides its fused path on this torch)
        import einops  # noqa: F401
    except ImportError as e:
        sys.exit(f"error: the published code needs timm and einops ({e}); pass --deps DIR with "
                 "their source trees (scripts/compare_published.sh --help says how)")
    install_torch2_compat()
    from models.sit_elit import SiTELIT
    import samplers
    return SiTELIT, samplers


def install_torch2_compat():
    """The two torch >= 2.0 names the published token editors call, for torch 1.13."""
    F = torch.nn.functional
    if hasattr(F, "scaled_dot_product_attention"):
        return

    def scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False):
        assert not is_causal and dropout_p == 0.0, "compat SDPA: no causal mask, no dropout"
        attn = (q * (1.0 / math.sqrt(q.size(-1)))) @ k.transpose(-2, -1)
        if attn_mask is not None:
            attn = attn.masked_fill(~attn_mask, float("-inf")) if attn_mask.dtype == torch.bool \
                else attn + attn_mask
        return attn.softmax(dim=-1) @ v

    F.scaled_dot_product_attention = scaled_dot_product_attention
    # torch 1.13 has a prototype sdp_kernel without the enable_mem_efficient the published code passes.
    torch.backends.cuda.sdp_kernel = lambda **kwargs: contextlib.nullcontext()


# ---------------------------------------------------------------- weights and model
SAFETENSORS_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64,
                      "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8,
                      "BOOL": np.bool_, "BF16": np.uint16}


def read_safetensors(path):
    """Returns ({name: tensor}, metadata) of a .safetensors file (numpy only, no safetensors pkg)."""
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        data = f.read()
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dtype = np.dtype(SAFETENSORS_DTYPES[info["dtype"]]).newbyteorder("<")
        array = np.frombuffer(data, dtype=dtype, count=(end - begin) // dtype.itemsize, offset=begin)
        t = torch.from_numpy(array.astype(dtype.newbyteorder("="))).reshape(info["shape"])
        tensors[name] = t.view(torch.bfloat16) if info["dtype"] == "BF16" else t
    return tensors, metadata


def published_kwargs(config, SiTELIT):
    """Published SiTELIT constructor arguments from an elit model config (published names)."""
    params = inspect.signature(SiTELIT.__init__).parameters
    kwargs = {k: v for k, v in config.items() if k in params and k != "self"}
    kwargs.setdefault("decoder_hidden_size", kwargs.get("hidden_size"))  # as every ELIT_SiT_* does
    kwargs["qk_norm"] = bool(config.get("qk_norm", False))  # SiTBlock's block_kwargs
    kwargs["fused_attn"] = False  # timm's own path on torch 1.13 (generate.py's default too)
    rows = config.get("latent_pos_embed_rows", 4096)
    if rows != 64 * 64:
        sys.exit(f"error: latent_pos_embed_rows {rows}: the published read layer has 64*64 rows")
    ignored = sorted(set(config) - set(kwargs) - {"latent_pos_embed_rows"})
    return kwargs, ignored


def build_model(SiTELIT, config, state_dict=None):
    kwargs, ignored = published_kwargs(config, SiTELIT)
    with contextlib.redirect_stdout(sys.stderr):  # its masking strategy prints; keep stdout JSON
        model = SiTELIT(**kwargs)
    if state_dict is not None:
        result = model.load_state_dict(state_dict, strict=False)
        if result.missing_keys or result.unexpected_keys:
            sys.exit(f"error: state_dict keys differ from the published model's: missing "
                     f"{result.missing_keys}, unexpected {result.unexpected_keys}")
        model.load_state_dict(state_dict, strict=True)
    return model.eval(), kwargs, ignored


def load_weights(SiTELIT, path):
    tensors, metadata = read_safetensors(path)
    if "elit.model_config" not in metadata:
        sys.exit(f"error: {path} has no elit.model_config in its __metadata__")
    config = json.loads(metadata["elit.model_config"])
    tensors = {k: v.float() for k, v in tensors.items()}  # the published model runs in float32
    return build_model(SiTELIT, config, tensors) + (config,)


# ---------------------------------------------------------------- elit's noise, labels, pixels
def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


def sample_seed(seed, index, stream=0):
    return splitmix64(splitmix64(splitmix64(seed) ^ index) ^ stream)


def initial_noise(seed, first, count, chw):
    """elit's initial noise: image i draws randn(C, H, W) from a CPU generator seeded (seed, i)."""
    rows = []
    for i in range(first, first + count):
        g = torch.Generator()
        g.manual_seed(sample_seed(seed, i))
        rows.append(torch.randn(chw, generator=g, dtype=torch.float32))
    return torch.stack(rows)


def to_uint8_images(x):
    """elit's io::to_uint8_images: [B, C, H, W] in [-1, 1] -> uint8 [B, H, W, C] (truncating)."""
    pixels = (255.0 * (x.detach().to(torch.float32) + 1.0) / 2.0).clamp(0, 255)
    return pixels.to(torch.uint8).permute(0, 2, 3, 1).contiguous()


def parse_classes(text, num_classes):
    if text == "all":
        return list(range(num_classes))
    return [int(c) for c in text.split(",")]


# ---------------------------------------------------------------- the published Euler sampler
def euler_sample(samplers, model, latents, y, num_classes, steps, cfg_scale, budget,
                 guidance_low=0.0, guidance_high=1.0):
    """samplers.euler_sampler (heun=False), with y_null = num_classes instead of 1000."""
    y_null = torch.full_like(y, num_classes) if cfg_scale > 1.0 else None
    t_steps = torch.linspace(1, 0, steps + 1, dtype=torch.float64)
    x_next = latents.to(torch.float64)
    fwd = dict(model=model, y_cond=y, y_null=y_null, _dtype=latents.dtype, device=x_next.device,
               cfg_scale=cfg_scale, guidance_low=guidance_low, guidance_high=guidance_high,
               inference_budget=budget, unconditional_inference_budget=None, autoguidance=False)
    with torch.no_grad():
        for t_cur, t_next in zip(t_steps[:-1], t_steps[1:]):
            x_cur = x_next
            d_cur = samplers._velocity_step(x=x_cur, t_val=t_cur, **fwd)
            x_next = x_cur + (t_next - t_cur) * d_cur
    return x_next


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--published", required=True, help="work tree of github snap-research/elit")
    p.add_argument("--deps", help="folder with the timm/ and einops/ packages (default: "
                   "$ELIT_PUBLISHED_DEPS, else PUBLISHED-deps beside the published tree)")
    p.add_argument("--weights", required=True, help="elit .safetensors (with elit.model_config)")
    p.add_argument("--num", type=int, default=None, help="images (default: one per class)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--classes", default="all", help="all | 0,3,7 (labels cycle through them)")
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--cfg-scale", type=float, default=1.0)
    p.add_argument("--budget", type=float, default=1.0, help="published inference_budget")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    p.add_argument("--out", required=True)
    a = p.parse_args()

    if a.threads:
        torch.set_num_threads(a.threads)
    SiTELIT, samplers = import_published(a.published, a.deps)
    model, kwargs, ignored, config = load_weights(SiTELIT, a.weights)
    num_classes = kwargs["num_classes"]
    classes = parse_classes(a.classes, num_classes)
    n = a.num if a.num is not None else len(classes)
    labels = torch.tensor([classes[i % len(classes)] for i in range(n)], dtype=torch.int64)
    chw = [kwargs["in_channels"], kwargs["input_size"], kwargs["input_size"]]
    print(f"[published] SiTELIT({', '.join(f'{k}={v}' for k, v in sorted(kwargs.items()))}); "
          f"config keys not passed: {ignored}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads", flush=True)

    images, seconds = [], 0.0
    for first in range(0, n, a.batch_size):
        count = min(a.batch_size, n - first)
        start = time.perf_counter()  # elit's sample time also covers drawing the noise
        z = initial_noise(a.seed, first, count, chw)
        x = euler_sample(samplers, model, z, labels[first:first + count], num_classes, a.steps,
                         a.cfg_scale, a.budget)
        seconds += time.perf_counter() - start
        images.append(to_uint8_images(x))
        print(f"[published] batch {first // a.batch_size + 1}: images {first + count}/{n}, "
              f"{seconds:.2f} s so far", flush=True)

    os.makedirs(a.out, exist_ok=True)
    arr = torch.cat(images).numpy()
    np.savez(os.path.join(a.out, "samples.npz"), arr_0=arr, arr_1=labels.numpy())
    timing = {"side": "published", "images": n, "seconds": seconds,
              "images_per_s": n / seconds if seconds > 0 else None, "steps": a.steps,
              "cfg_scale": a.cfg_scale, "budget": a.budget, "batch_size": a.batch_size,
              "seed": a.seed, "torch": torch.__version__, "threads": torch.get_num_threads()}
    with open(os.path.join(a.out, "timing.json"), "w") as f:
        json.dump(timing, f, indent=2)
        f.write("\n")
    print(json.dumps(timing), flush=True)


if __name__ == "__main__":
    main()
