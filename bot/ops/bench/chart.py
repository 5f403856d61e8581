"""The benchmark's chart, an SVG written by hand (no plotting library in the environments): the median cost of a
message per 20 turns of one conversation, and the memory of every process during the soak."""

from __future__ import annotations

from html import escape

WIDTH, HEIGHT, PAD = 440, 300, 50
COLOURS = ["#1f6fb2", "#d9541e", "#2f9e44", "#8e44ad", "#b8860b", "#555555"]


def _panel(x0: int, title: str, series: dict[str, list[tuple[float, float]]], xlabel: str, ylabel: str) -> list[str]:
    """One line chart at x offset x0: each series a list of (x, y) points."""
    points = [p for values in series.values() for p in values]
    if not points:
        return []
    xmax = max(x for x, _ in points) or 1.0
    xmin = min(x for x, _ in points)
    ymax = max(y for _, y in points) * 1.15 or 1.0
    w, h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD

    def sx(x: float) -> float:
        return x0 + PAD + (x - xmin) / ((xmax - xmin) or 1.0) * w

    def sy(y: float) -> float:
        return PAD + h - y / ymax * h

    out = [
        f'<text x="{x0 + WIDTH / 2}" y="22" text-anchor="middle" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{x0 + PAD}" y1="{PAD + h}" x2="{x0 + PAD + w}" y2="{PAD + h}" stroke="#000"/>',
        f'<line x1="{x0 + PAD}" y1="{PAD}" x2="{x0 + PAD}" y2="{PAD + h}" stroke="#000"/>',
        f'<text x="{x0 + WIDTH / 2}" y="{HEIGHT - 12}" text-anchor="middle">{escape(xlabel)}</text>',
        f'<text x="{x0 + 14}" y="{PAD + h / 2}" text-anchor="middle" transform="rotate(-90 {x0 + 14} {PAD + h / 2})">'
        f"{escape(ylabel)}</text>",
    ]
    for i in range(5):
        y = ymax * i / 4
        out.append(f'<text x="{x0 + PAD - 6}" y="{sy(y) + 4:.1f}" text-anchor="end">{y:.0f}</text>')
        out.append(f'<line x1="{x0 + PAD}" y1="{sy(y):.1f}" x2="{x0 + PAD + w}" y2="{sy(y):.1f}" stroke="#ddd"/>')
    for i in range(5):
        x = xmin + (xmax - xmin) * i / 4
        label = f"{x:.0f}" if xmax - xmin >= 4 else f"{x:.1f}"
        out.append(f'<text x="{sx(x):.1f}" y="{PAD + h + 16}" text-anchor="middle">{label}</text>')
    for n, (name, values) in enumerate(series.items()):
        colour = COLOURS[n % len(COLOURS)]
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in values)
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        out += [f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="{colour}"/>' for x, y in values[:12]]
        ly = PAD + 4 + 16 * n
        out.append(f'<rect x="{x0 + PAD + 10}" y="{ly}" width="12" height="3" fill="{colour}"/>')
        out.append(f'<text x="{x0 + PAD + 28}" y="{ly + 5}">{escape(name)}</text>')
    return out


def svg(sweeps: dict[str, list[dict]], rss: dict[str, list[tuple[float, float]]]) -> str:
    """Left: p50 per bucket of turns for each bot; right: RSS (MB) of each process over the soak (minutes)."""
    left = {name: [(float(b["turns"].split("–")[1]), b["p50_ms"]) for b in buckets] for name, buckets in sweeps.items()}
    right = {name: [(t / 60, mb) for t, mb in samples] for name, samples in rss.items()}
    body = _panel(0, "One conversation: p50 per 20 turns", left, "turn (end of bucket)", "ms")
    body += _panel(WIDTH, "Soak: memory of each process", right, "minutes", "RSS (MB)")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {2 * WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">\n'
        f'<rect width="100%" height="100%" fill="#fff"/>\n' + "\n".join(body) + "\n</svg>\n"
    )
