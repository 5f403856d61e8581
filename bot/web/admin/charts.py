"""Charts as server-rendered SVG: no chart library, no script, no CDN, nothing the Content-Security-Policy forbids
(only presentation attributes, never a style attribute). Every chart has a title and its numbers as text, so a
screen reader and a printout read the same numbers as the eye.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

BLUE, GREEN, ORANGE, RED, GREY = "#206bc4", "#2fb344", "#f59f00", "#d63939", "#a0a7b1"
PALETTE = (GREEN, BLUE, ORANGE, RED, GREY)


def _svg(width: int, height: int, label: str, body: list[str], css: str = "zt-chart") -> Markup:
    head = (
        f'<svg class="{css}" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg"><title>{escape(label)}</title>'
    )
    return Markup(head + "".join(body) + "</svg>")


def _text(x: float, y: float, value: object, anchor: str = "middle", size: int = 14, fill: str = "#3d4a5c") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{fill}">{escape(value)}</text>'
    )


def columns(values: Sequence[int], labels: Sequence[str], label: str, every: int = 1, color: str = BLUE) -> Markup:
    """Vertical bars (questions per day, per hour): one bar a value, every `every`-th label under the axis, the
    highest value written above its bar."""
    width, height, top, bottom, left = 600, 220, 24, 28, 36
    n = max(len(values), 1)
    peak = max(values, default=0) or 1
    step = (width - left) / n
    plot = height - top - bottom
    body = [f'<line x1="{left}" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" stroke="#d0d7de"/>']
    body.append(_text(left - 5, top + 5, peak, "end", 13))
    body.append(_text(left - 5, height - bottom, 0, "end", 13))
    for i, value in enumerate(values):
        bar = plot * value / peak
        x = left + i * step + step * 0.15
        body.append(
            f'<rect x="{x:.1f}" y="{height - bottom - bar:.1f}" width="{step * 0.7:.1f}" height="{bar:.1f}" '
            f'fill="{color}"><title>{escape(labels[i])}: {value}</title></rect>'
        )
        if i % every == 0 or i == n - 1:
            body.append(_text(x + step * 0.35, height - 8, labels[i], size=13))
    best = max(range(len(values)), key=lambda i: values[i], default=None)
    if best is not None and values[best]:
        body.append(_text(left + best * step + step / 2, top - 7, values[best], size=13, fill=BLUE))
    return _svg(width, height, label, body)


def shares(parts: Sequence[tuple[str, int]], label: str, colors: Sequence[str] = PALETTE) -> Markup:
    """One bar split into shares (answered, did you mean, …), each with its percentage; the legend is the page's."""
    width, height = 600, 44
    total = sum(v for _, v in parts)
    body = []
    if not total:
        body.append(f'<rect x="0" y="6" width="{width}" height="30" fill="#eef1f4"/>')
        body.append(_text(width / 2, 27, "—"))
        return _svg(width, height, label, body)
    x = 0.0
    for (name, value), color in zip(parts, colors, strict=False):
        part = width * value / total
        if part <= 0:
            continue
        body.append(
            f'<rect x="{x:.1f}" y="6" width="{part:.1f}" height="30" fill="{color}">'
            f"<title>{escape(name)}: {value} ({value / total:.0%})</title></rect>"
        )
        if part > 40:
            body.append(_text(x + part / 2, 27, f"{value / total:.0%}", fill="#ffffff"))
        x += part
    return _svg(width, height, label, body)


def pairs(rows: Sequence[tuple[str, int, int]], label: str) -> Markup:
    """Two bars a row, good and bad (👍 green, 👎 red), with the row's name and both numbers."""
    width, row_height, name_width = 600, 32, 200
    height = max(len(rows), 1) * row_height + 6
    peak = max((max(a, b) for _, a, b in rows), default=0) or 1
    room = (width - name_width - 70) / 2
    body = []
    for i, (name, good, bad) in enumerate(rows):
        y = 4 + i * row_height
        body.append(_text(name_width - 8, y + 20, name, "end"))
        for j, (value, color) in enumerate(((good, GREEN), (bad, RED))):
            x0 = name_width + j * (room + 35)
            bar = room * value / peak
            body.append(f'<rect x="{x0:.1f}" y="{y + 6}" width="{bar:.1f}" height="18" fill="{color}"/>')
            body.append(_text(x0 + bar + 4, y + 20, value, "start"))
    if not rows:
        body.append(_text(width / 2, 22, "—"))
    return _svg(width, height, label, body)


def bars(rows: Sequence[tuple[str, int]], label: str, color: str = ORANGE, name_width: int = 260) -> Markup:
    """One horizontal bar a row (top unanswered questions, languages), with the row's name and number."""
    width, row_height = 600, 30
    height = max(len(rows), 1) * row_height + 6
    peak = max((v for _, v in rows), default=0) or 1
    room = width - name_width - 50
    body = []
    for i, (name, value) in enumerate(rows):
        y = 4 + i * row_height
        shown = name if len(name) <= 18 else name[:17] + "…"
        body.append(_text(name_width - 8, y + 19, shown, "end"))
        bar = room * value / peak
        body.append(
            f'<rect x="{name_width}" y="{y + 6}" width="{bar:.1f}" height="18" fill="{color}">'
            f"<title>{escape(name)}: {value}</title></rect>"
        )
        body.append(_text(name_width + bar + 4, y + 19, value, "start"))
    if not rows:
        body.append(_text(width / 2, 20, "—"))
    return _svg(width, height, label, body)
