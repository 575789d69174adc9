#!/usr/bin/env python3
"""Summary of scripts/serve_benchmark.sh: summary.json, table.md and plot.svg (mean budget served
and p95 latency against offered load, fixed vs elastic). Standard library only."""
import json
import math
import os
import sys

out, latency, capacity, deadline = sys.argv[1], *map(float, sys.argv[2:5])
loads = [0.5, 1, 2, 3]
rows = []
for load in loads:
    for policy in ("fixed", "elastic"):
        path = os.path.join(out, f"{policy}-{load:g}.json")
        if not os.path.exists(path):
            continue
        r = json.load(open(path))
        ev = os.path.join(out, f"{policy}-{load:g}-eval.json")
        fd = json.load(open(ev))["fd"]["value"] if os.path.exists(ev) else None
        rows.append({"load": load, "policy": policy, "rate": r["offered_rate"], "sent": r["sent"],
                     "rejected": r["rejected_fraction"], "met": r["deadline_met_fraction"],
                     "p50": r["latency_ms"]["p50"], "p95": r["latency_ms"]["p95"],
                     "p99": r["latency_ms"]["p99"], "budget": r["mean_budget"],
                     "full": r["full_budget_fraction"], "rps": r["throughput_rps"],
                     "gflops_s": r["flops_per_second"] / 1e9, "fd": fd,
                     # how much slower than its calibration table the server's forwards ran
                     "time_over_table": (r.get("server") or {}).get("time_over_table")})
summary = {"unloaded_latency_ms": latency, "capacity_rps": capacity, "deadline_ms": deadline,
           "rows": rows}
json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=2)

def num(v, fmt):
    return "–" if v is None else format(v, fmt)

lines = [f"L = {latency:.0f} ms (unloaded p50 at budget 1), C = {capacity:.2f} requests/s, "
         f"D = {deadline:.0f} ms\n",
         "| load | policy | rate (req/s) | sent | rejected | deadline met | p50 ms | p95 ms | p99 ms "
         "| mean budget | at budget 1 | served/s | GFLOP/s | FD | forward time / table |",
         "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
for r in rows:
    lines.append(f"| {r['load']:g}C | {r['policy']} | {r['rate']:.2f} | {r['sent']} | "
                 f"{100 * r['rejected']:.1f}% | {100 * r['met']:.1f}% | {num(r['p50'], '.0f')} | "
                 f"{num(r['p95'], '.0f')} | {num(r['p99'], '.0f')} | {r['budget']:.3f} | "
                 f"{100 * r['full']:.0f}% | {r['rps']:.2f} | {r['gflops_s']:.2f} | {num(r['fd'], '.2f')} | "
                 f"{num(r['time_over_table'], '.2f')} |")
open(os.path.join(out, "table.md"), "w").write("\n".join(lines) + "\n")
print("\n".join(lines))

# Three panels against offered load: mean budget served, deadlines met (% of accepted requests)
# and p95 latency with the deadline (points above 5 D drawn at the top, labelled with their value).
W, H, P = 360, 260, 48
colors = {"fixed": "#d9534f", "elastic": "#2b7bb9"}

def round_ticks(top, count=5):
    """Multiples of a round step (1, 2, 2.5 or 5 x 10^k) from 0 up to top."""
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    return [k * step for k in range(int(top / step + 1e-9) + 1)]

def panel(x0, title, key, ymax, ticks, hline=None):
    s = [f'<g transform="translate({x0},0)">',
         f'<text x="{W / 2}" y="20" text-anchor="middle" font-weight="bold">{title}</text>',
         f'<line x1="{P}" y1="{H - P}" x2="{W - 10}" y2="{H - P}" stroke="#333"/>',
         f'<line x1="{P}" y1="30" x2="{P}" y2="{H - P}" stroke="#333"/>']
    sx = lambda l: P + (l - 0) / 3.25 * (W - 10 - P)
    sy = lambda v: H - P - v / ymax * (H - P - 30)
    for l in loads:
        s.append(f'<text x="{sx(l)}" y="{H - P + 16}" text-anchor="middle">{l:g}C</text>')
    for v in ticks:
        s.append(f'<text x="{P - 6}" y="{sy(v) + 4}" text-anchor="end">{v:g}</text>')
    if hline:
        s.append(f'<line x1="{P}" y1="{sy(hline)}" x2="{W - 10}" y2="{sy(hline)}" stroke="#999" '
                 f'stroke-dasharray="4 3"/><text x="{W - 12}" y="{sy(hline) - 4}" '
                 f'text-anchor="end" fill="#666">deadline</text>')
    for policy, c in colors.items():
        mine = [r for r in rows if r["policy"] == policy]
        pts = [(sx(r["load"]), sy(min(r[key] or 0, ymax))) for r in mine]
        for r, (x, y) in zip(mine, pts):
            if (r[key] or 0) > ymax:
                # below the point, on the side away from the rising line (left at the last load)
                last = r["load"] == loads[-1]
                s.append(f'<text x="{x - 6 if last else x + 6:.1f}" y="{y + 14:.1f}" '
                         f'text-anchor="{"end" if last else "start"}" '
                         f'fill="{c}">{r[key] / 1000:.1f} s</text>')
        if pts:
            s.append(f'<polyline fill="none" stroke="{c}" stroke-width="2" points="'
                     + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts) + '"/>')
            s += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{c}"/>' for x, y in pts]
    s.append(f'<text x="{W / 2}" y="{H - 8}" text-anchor="middle">offered load</text></g>')
    return "\n".join(s)

p95max = min(max([r["p95"] or 0 for r in rows] + [deadline]) * 1.1, 5 * deadline)
for r in rows:
    r["met_pct"] = 100 * r["met"]
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{3 * W + 40}" height="{H + 30}" '
       'font-family="sans-serif" font-size="12">',
       '<rect width="100%" height="100%" fill="white"/>',
       panel(0, "mean budget served", "budget", 1.1, [0, 0.25, 0.5, 0.75, 1]),
       panel(W + 20, "deadlines met (% of accepted)", "met_pct", 105, [0, 25, 50, 75, 100]),
       panel(2 * W + 40, "p95 latency (ms)", "p95", p95max, round_ticks(p95max), hline=deadline),
       f'<g font-size="13" transform="translate({W / 2 + 10},0)"><rect x="{W - 60}" y="{H + 8}" width="12" height="12" fill="{colors["fixed"]}"/>'
       f'<text x="{W - 44}" y="{H + 18}">fixed budget 1</text>'
       f'<rect x="{W + 60}" y="{H + 8}" width="12" height="12" fill="{colors["elastic"]}"/>'
       f'<text x="{W + 76}" y="{H + 18}">elastic</text></g>', "</svg>"]
open(os.path.join(out, "plot.svg"), "w").write("\n".join(svg) + "\n")
