#!/usr/bin/env python3
"""Table and plot of scripts/sampling_benchmark.sh's results (standard library only).

  scripts/sampling_benchmark_report.py RESULTS.jsonl OUT_DIR

Writes OUT_DIR/results.md (speed-up over the published sampler and over elit's own baseline, FD,
precision, recall) and OUT_DIR/fd_vs_speed.svg (FD against images per second, one labelled point
per setting). Baselines measured twice (first and last) are averaged, and their difference is
reported as the drift of the machine over the run.
"""
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from svg_plot import chart  # noqa: E402


def mean(values):
    return sum(values) / len(values) if values else float("nan")


def main():
    path, out = sys.argv[1], sys.argv[2]
    rows = [json.loads(line) for line in open(path) if line.strip()]
    by_name = {r["name"]: r for r in rows}

    def speed(*names):
        return mean([by_name[n]["images_per_s"] for n in names if n in by_name])

    published = speed("published", "published-again")
    own = speed("baseline", "baseline-again")
    fd_base = mean([by_name[n]["fd"] for n in ("baseline", "baseline-again") if n in by_name])
    noise = None
    if "baseline" in by_name and "baseline-seed1" in by_name:
        noise = abs(by_name["baseline"]["fd"] - by_name["baseline-seed1"]["fd"])
    lines = [
        "| setting | flags | images/s | vs published | vs elit baseline | FD | FD vs baseline | "
        "precision | recall | TeaCache skipped |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        tc = r.get("teacache")
        skipped = f"{100 * tc['skipped_fraction']:.0f}%" if isinstance(tc, dict) else ""
        vs_pub = f"{r['images_per_s'] / published:.2f}x" if not math.isnan(published) else ""
        vs_own = f"{r['images_per_s'] / own:.2f}x" if not math.isnan(own) else ""
        fd_rel = f"{100 * (r['fd'] / fd_base - 1):+.1f}%" if not math.isnan(fd_base) else ""
        lines.append(
            f"| {r['name']} | {r.get('flags', '').strip()} | {r['images_per_s']:.1f} | {vs_pub} | "
            f"{vs_own} | {r['fd']:.2f} | {fd_rel} | {r['precision']:.3f} | {r['recall']:.3f} | "
            f"{skipped} |")
    notes = []
    if not math.isnan(published):
        runs = [by_name[n]["images_per_s"] for n in ("published", "published-again") if n in by_name]
        notes.append(f"published baseline: {published:.1f} images/s (runs: "
                     + ", ".join(f"{v:.1f}" for v in runs) + ")")
    if not math.isnan(own):
        runs = [by_name[n]["images_per_s"] for n in ("baseline", "baseline-again") if n in by_name]
        notes.append(f"elit baseline: {own:.1f} images/s (runs: " + ", ".join(f"{v:.1f}" for v in runs)
                     + f"), FD {fd_base:.2f}")
    if noise is not None:
        notes.append(f"FD noise (same setting, seeds 0 and 1): {noise:.2f}")
    floors = [r["fd_floor"] for r in rows if r.get("fd_floor") is not None]
    if floors:
        notes.append(f"FD floor (real test images vs the reference, same N): {floors[0]:.2f}")
    text = "\n".join(lines) + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    open(f"{out}/results.md", "w").write(text)
    print(text)
    write_plot(rows, f"{out}/fd_vs_speed.svg")


def write_plot(rows, path):
    series = [{"name": name, "color": color,
               "points": [(r["images_per_s"], r["fd"], r["name"]) for r in rows
                          if (r.get("system") == "published") == published]}
              for name, color, published in (("elit", "#1f77b4", False),
                                             ("published code", "#d62728", True))]
    floors = [r["fd_floor"] for r in rows if r.get("fd_floor") is not None]
    chart(path, "FD (lower is better) against images per second", "images per second", "FD",
          [s for s in series if s["points"]],
          level=(floors[0], "real-vs-real floor") if floors else None)


if __name__ == "__main__":
    main()
