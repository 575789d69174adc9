#!/usr/bin/env python3
"""Tables and plots of the experiment scripts' results (standard library only).

  scripts/experiments/report.py EXPERIMENT OUT_DIR [--minutes M]

Reads OUT_DIR/results.jsonl (one line per sample-and-evaluate, written by common.sh) and writes
OUT_DIR/results.json (the rows plus a summary), OUT_DIR/table.md and the experiment's SVG plot.
"""
import json
import math
import os
import re
import struct
import sys
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from svg_plot import chart  # noqa: E402


def gflops(r):
    return r["flops_per_image"] / 1e9 if r.get("flops_per_image") else float("nan")


def fmt_row(cells):
    return "| " + " | ".join(str(c) for c in cells) + " |"


def common_notes(rows):
    floor = rows[0]["fd_floor"]
    return [f"N = {rows[0]['n']} images per setting (every class, seeds from 0); FD in the default "
            f"Fashion-MNIST classifier's features; real-vs-real floor at this N: {floor:.2f}"]


def read_images(npz):
    """arr_0 of an ADM-layout .npz as (count, bytes per image, raw uint8 bytes)."""
    with zipfile.ZipFile(npz) as z:
        data = z.read("arr_0.npy")
    assert data[:6] == b"\x93NUMPY", f"{npz}: arr_0 is not an .npy array"
    major = data[6]
    length = struct.unpack("<H" if major == 1 else "<I", data[8:10] if major == 1 else data[8:12])[0]
    start = (10 if major == 1 else 12) + length
    header = data[start - length:start].decode("latin1")
    assert "'|u1'" in header, f"{npz}: arr_0 is not uint8"
    match = re.search(r"'shape':\s*\(([0-9, ]*)\)", header)
    assert match, f"{npz}: arr_0 has no shape in its header"
    shape = [int(d) for d in match.group(1).split(",") if d.strip()]
    per = 1
    for d in shape[1:]:
        per *= d
    assert len(data) - start == shape[0] * per, f"{npz}: arr_0 is shorter than its shape"
    return shape[0], per, data[start:]


def rms_distance(a_npz, b_npz):
    """Mean over images of the RMS pixel difference (0..1 scale) between two sample sets."""
    n, per, a = read_images(a_npz)
    m, per_b, b = read_images(b_npz)
    assert (n, per) == (m, per_b), f"{a_npz} and {b_npz} hold different image sets"
    total = 0.0
    for i in range(n):
        s = 0
        for x, y in zip(a[i * per:(i + 1) * per], b[i * per:(i + 1) * per]):
            s += (x - y) * (x - y)
        total += math.sqrt(s / per) / 255.0
    return total / n


def e1(out, rows, args):
    lines = [fmt_row(["model", "updates", "comparison", "CFG", "seed", "FD", "precision", "recall",
                      "GFLOPs / image"]),
             fmt_row(["---"] * 3 + ["---:"] * 6)]
    for r in rows:
        lines.append(fmt_row([r["model"], r["updates"], r["comparison"], r["cfg_scale"], r["seed"],
                              f"{r['fd']:.2f}", f"{r['precision']:.3f}", f"{r['recall']:.3f}",
                              f"{gflops(r):.2f}"]))
    summary = {"minutes": args.get("minutes")}
    notes = common_notes(rows)
    base = [r for r in rows if r["seed"] == 0]
    last = {m: max(r["updates"] for r in base if r["model"] == m) for m in ("elit", "sit")}
    common = max(set(r["updates"] for r in base if r["model"] == "elit")
                 & set(r["updates"] for r in base if r["model"] == "sit"))
    for comparison, steps in (("equal time", last), ("equal updates", {"elit": common, "sit": common})):
        for scale in sorted({r["cfg_scale"] for r in base}):
            e, s = [next(r for r in base if r["model"] == m and r["updates"] == steps[m]
                         and r["cfg_scale"] == scale) for m in ("elit", "sit")]
            key = f"{comparison}, CFG {scale:g}"
            summary[key] = {"elit_fd": e["fd"], "sit_fd": s["fd"], "elit_updates": e["updates"],
                            "sit_updates": s["updates"], "fd_change": e["fd"] / s["fd"] - 1}
            notes.append(f"{key}: ELIT FD {e['fd']:.2f} ({e['updates']} updates) vs SiT "
                         f"{s['fd']:.2f} ({s['updates']} updates): "
                         f"{100 * (e['fd'] / s['fd'] - 1):+.1f}%")
    for model in ("elit", "sit"):
        seeds = [r["fd"] for r in rows if r["model"] == model and r["updates"] == last[model]
                 and r["cfg_scale"] == max(x["cfg_scale"] for x in rows)]
        if len(seeds) > 1:
            summary[f"{model}_seed_spread"] = max(seeds) - min(seeds)
            notes.append(f"{model}: FD over {len(seeds)} sampling seeds "
                         + ", ".join(f"{v:.2f}" for v in seeds))
    series = []
    for model, label in (("elit", "ELIT-SiT"), ("sit", "SiT")):
        for scale in sorted({r["cfg_scale"] for r in rows}):
            pts = [(r["updates"], r["fd"], "") for r in rows
                   if r["model"] == model and r["cfg_scale"] == scale and r["seed"] == 0]
            if pts:
                series.append({"name": f"{label}, CFG {scale:g}", "points": pts, "line": True})
    chart(f"{out}/fd.svg", "E1: FD at full budget, ELIT-SiT vs SiT (lower is better)",
          "training updates (same minutes: each model's last point)", "FD", series,
          level=(rows[0]["fd_floor"], "real-vs-real floor"))
    return lines, notes, summary


def e2(out, rows, args):
    full = max(rows, key=lambda r: float(r["budget"]))
    for r in rows:
        r["distance_to_full"] = rms_distance(f"{out}/{r['name']}/samples.npz",
                                             f"{out}/{full['name']}/samples.npz")
    lines = [fmt_row(["budget", "GFLOPs / image", "FD", "precision", "recall", "images/s",
                      "RMS distance to the full-budget image"]),
             fmt_row(["---:"] * 7)]
    for r in sorted(rows, key=lambda r: float(r["budget"])):
        lines.append(fmt_row([r["budget"], f"{gflops(r):.2f}", f"{r['fd']:.2f}",
                              f"{r['precision']:.3f}", f"{r['recall']:.3f}",
                              f"{r['images_per_s']:.1f}", f"{r['distance_to_full']:.4f}"]))
    ordered = sorted(rows, key=lambda r: float(r["budget"]))
    fds = [r["fd"] for r in ordered]
    summary = {"fd_by_budget": {r["budget"]: r["fd"] for r in ordered},
               "fd_monotone_in_budget": all(a >= b for a, b in zip(fds, fds[1:])),
               "distance_by_budget": {r["budget"]: r["distance_to_full"] for r in ordered}}
    notes = common_notes(rows)
    notes.append("FD falls monotonically as the budget grows: "
                 + ("yes" if summary["fd_monotone_in_budget"] else "no"))
    chart(f"{out}/fd_vs_flops.svg", "E2: FD against FLOPs, one model at every budget",
          "GFLOPs per image (sampling, guidance included)", "FD",
          [{"name": "ELIT-SiT budgets", "line": True,
            "points": [(gflops(r), r["fd"], f"b={float(r['budget']):.3g}") for r in ordered]}],
          level=(rows[0]["fd_floor"], "real-vs-real floor"))
    chart(f"{out}/distance.svg", "E2: how far each budget's image is from the full budget's",
          "budget", "RMS pixel distance (0..1)",
          [{"name": "same noise", "line": True,
            "points": [(float(r["budget"]), r["distance_to_full"], "") for r in ordered]}])
    return lines, notes, summary


def e3(out, rows, args):
    lines = [fmt_row(["guidance", "scale", "guiding budget", "GFLOPs / image", "FD", "precision",
                      "recall", "images/s"]),
             fmt_row(["---"] + ["---:"] * 7)]
    for r in rows:
        lines.append(fmt_row([r["mode"], r["cfg_scale"], r.get("uncond_budget") or r["budget"],
                              f"{gflops(r):.2f}", f"{r['fd']:.2f}", f"{r['precision']:.3f}",
                              f"{r['recall']:.3f}", f"{r['images_per_s']:.1f}"]))
    summary, series = {}, []
    for mode in ("cfg", "ccfg", "autoguidance"):
        pts = [r for r in rows if r["mode"] == mode]
        if not pts:
            continue
        best = min(pts, key=lambda r: r["fd"])
        summary[mode] = {"best_fd": best["fd"], "best_scale": best["cfg_scale"],
                         "gflops_per_image": gflops(best)}
        series.append({"name": mode, "line": True,
                       "points": [(gflops(r), r["fd"], f"{r['cfg_scale']:g}") for r in pts]})
    notes = common_notes(rows) + [
        f"{m}: best FD {v['best_fd']:.2f} at scale {v['best_scale']:g}, "
        f"{v['gflops_per_image']:.2f} GFLOPs per image" for m, v in summary.items()]
    unguided = [r for r in rows if r["mode"] == "none"]
    if unguided:
        series.append({"name": "no guidance", "points": [(gflops(unguided[0]), unguided[0]["fd"], "1")]})
    chart(f"{out}/fd_vs_flops.svg", "E3: FD against FLOPs per image over guidance scales",
          "GFLOPs per image", "FD", series, level=(rows[0]["fd_floor"], "real-vs-real floor"))
    return lines, notes, summary


def e4(out, rows, args):
    lines = [fmt_row(["schedule", "budget flag", "mean budget", "GFLOPs / image", "FD", "precision",
                      "recall", "images/s"]),
             fmt_row(["---", "---"] + ["---:"] * 6)]
    for r in rows:
        lines.append(fmt_row([r["schedule"], f"`{r['budget']}`", r["mean_budget"],
                              f"{gflops(r):.2f}", f"{r['fd']:.2f}", f"{r['precision']:.3f}",
                              f"{r['recall']:.3f}", f"{r['images_per_s']:.1f}"]))
    equal = [r for r in rows if r.get("equal_flops")]
    best = min(equal, key=lambda r: r["fd"]) if equal else None
    summary = {"best_at_equal_flops": best["schedule"] if best else None,
               "fd": {r["schedule"]: r["fd"] for r in rows}}
    notes = common_notes(rows)
    if best:
        notes.append(f"best at equal FLOPs: {best['schedule']} (FD {best['fd']:.2f})")
    chart(f"{out}/fd_by_schedule.svg", "E4: FD of budget schedules (lower is better)",
          "schedule (the table's rows, in order)", "FD",
          [{"name": "equal FLOPs",
            "points": [(i + 1, r["fd"], f"{r['fd']:.1f}") for i, r in enumerate(rows)
                       if r.get("equal_flops")]},
           {"name": "constant 1/4, 1", "color": "#7f7f7f",
            "points": [(i + 1, r["fd"], f"{r['fd']:.1f}") for i, r in enumerate(rows)
                       if not r.get("equal_flops")]}],
          level=(rows[0]["fd_floor"], "real-vs-real floor"),
          xticks=[(i + 1, r["short"]) for i, r in enumerate(rows)])
    return lines, notes, summary


def main():
    experiment, out = sys.argv[1], sys.argv[2]
    args = {}
    rest = sys.argv[3:]
    for flag, value in zip(rest[::2], rest[1::2]):
        args[flag.lstrip("-")] = float(value)
    rows = [json.loads(line) for line in open(f"{out}/results.jsonl") if line.strip()]
    if not rows:
        sys.exit(f"report.py: {out}/results.jsonl has no results")
    lines, notes, summary = {"e1": e1, "e2": e2, "e3": e3, "e4": e4}[experiment](out, rows, args)
    text = "\n".join(lines) + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    open(f"{out}/table.md", "w").write(text)
    json.dump({"experiment": experiment, "summary": summary, "rows": rows},
              open(f"{out}/results.json", "w"), indent=1)
    print(text)


if __name__ == "__main__":
    main()
