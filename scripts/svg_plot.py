"""One SVG chart for the report scripts (standard library only): labelled points, optionally
joined into one line per series, with an optional dashed reference level (e.g. the FD floor).

  from svg_plot import chart
  chart("fd.svg", "FD against FLOPs", "GFLOPs per image", "FD",
        [{"name": "ELIT", "points": [(x, y, "b=1/4"), ...], "line": True}], level=(7.6, "floor"))
"""

from html import escape

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


def _ticks(lo, hi, count=5):
    return [lo + (hi - lo) * i / count for i in range(count + 1)]


def _fmt(v):
    return f"{v:.0f}" if abs(v) >= 10 or v == 0 else f"{v:.2g}"


def _place(x, y, text, placed):
    """A label position near (x, y) that overlaps no label placed before (greedy, ~6 px/char)."""
    width = 6.2 * len(text)
    for dy in (-6, 14, -18, 26, -30, 38, -42, 50):
        box = (x + 6, y + dy - 10, x + 6 + width, y + dy + 2)
        if all(box[2] < b[0] or box[0] > b[2] or box[3] < b[1] or box[1] > b[3] for b in placed):
            placed.append(box)
            return x + 6, y + dy
    return x + 6, y - 6


def chart(path, title, xlabel, ylabel, series, level=None, y_from_zero=True, xticks=None):
    """xticks: [(x, text)] for a categorical x axis (default: six numeric ticks)."""
    w, h, left, bottom, top, right = 760, 480, 70, 50, 40, 170
    xs = [p[0] for s in series for p in s["points"]]
    ys = [p[1] for s in series for p in s["points"]] + ([level[0]] if level else [])
    x_lo, x_hi = min(xs), max(xs)
    pad = (x_hi - x_lo) * 0.08 or abs(x_hi) * 0.1 or 1.0
    x_lo, x_hi = (max(0.0, x_lo - pad) if x_lo >= 0 else x_lo - pad), x_hi + pad
    y_lo = 0.0 if y_from_zero else min(ys) - 0.1 * (max(ys) - min(ys) or 1.0)
    y_hi = max(ys) * 1.1 if max(ys) > 0 else 1.0
    sx = lambda v: left + (w - left - right) * (v - x_lo) / (x_hi - x_lo)
    sy = lambda v: h - bottom - (h - top - bottom) * (v - y_lo) / (y_hi - y_lo)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
             'font-family="sans-serif" font-size="11">',
             f'<rect width="{w}" height="{h}" fill="white"/>',
             f'<text x="{(w - right + left) / 2}" y="20" text-anchor="middle" font-size="14">'
             f'{escape(title)}</text>',
             f'<line x1="{left}" y1="{h - bottom}" x2="{w - right}" y2="{h - bottom}" stroke="black"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" stroke="black"/>',
             f'<text x="{(w - right + left) / 2}" y="{h - 12}" text-anchor="middle">{escape(xlabel)}</text>',
             f'<text x="16" y="{h / 2}" transform="rotate(-90 16 {h / 2})" '
             f'text-anchor="middle">{escape(ylabel)}</text>']
    for xv, text in xticks or [(v, _fmt(v)) for v in _ticks(x_lo, x_hi)]:
        parts.append(f'<text x="{sx(xv):.1f}" y="{h - bottom + 16}" text-anchor="middle">{escape(text)}</text>')
    for yv in _ticks(y_lo, y_hi):
        parts.append(f'<text x="{left - 6}" y="{sy(yv) + 4:.1f}" text-anchor="end">{_fmt(yv)}</text>')
        parts.append(f'<line x1="{left}" y1="{sy(yv):.1f}" x2="{w - right}" y2="{sy(yv):.1f}" '
                     'stroke="#eee"/>')
    if level:
        parts.append(f'<line x1="{left}" y1="{sy(level[0]):.1f}" x2="{w - right}" '
                     f'y2="{sy(level[0]):.1f}" stroke="gray" stroke-dasharray="4 3"/>')
        parts.append(f'<text x="{w - right - 4}" y="{sy(level[0]) - 4:.1f}" text-anchor="end" '
                     f'fill="gray">{escape(level[1])}</text>')
    placed = []
    for i, s in enumerate(series):
        color = s.get("color", COLORS[i % len(COLORS)])
        pts = sorted(s["points"]) if s.get("line") else s["points"]
        if s.get("line") and len(pts) > 1:
            coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y, *_ in pts)
            parts.append(f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="1.5"/>')
        for x, y, *label in pts:
            parts.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="4" fill="{color}"/>')
            if label and label[0]:
                lx, ly = _place(sx(x), sy(y), label[0], placed)
                parts.append(f'<text x="{lx:.1f}" y="{ly:.1f}">{escape(label[0])}</text>')
        ly = top + 16 * i
        parts.append(f'<circle cx="{w - right + 14}" cy="{ly}" r="4" fill="{color}"/>')
        parts.append(f'<text x="{w - right + 22}" y="{ly + 4}">{escape(s["name"])}</text>')
    parts.append("</svg>")
    open(path, "w").write("\n".join(parts) + "\n")
