"""The reports' charts: small inline SVGs, drawn at the size they are shown (1 SVG unit = 1 CSS
px, so a font size here is the size on the screen), every text at least 11 px.

Texts that come from data (a band, a bucket, a month) are escaped. A chart with nothing to show is
the empty string: the page then says "no data" in its own language (kaohe.reporting.reports never
draws an empty box).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

FONT = 12        # px, the values and labels
SMALL = 11       # px, axis ticks: the smallest text of any chart
INK, MUTED, GRID, BRAND = "#1f2933", "#52606d", "#e4e7eb", "#2f6fde"


def text_width(text: str, size: float = FONT) -> float:
    """About how wide ``text`` is drawn at ``size`` px: a CJK character is as wide as the font
    size, anything else about 0.62 of it (digits and Latin letters of the sans-serif fonts)."""
    return sum(size if ord(ch) >= 0x2E80 else 0.62 * size for ch in text)


def _svg(width: float, height: float, body: str) -> Markup:
    return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width:.0f}" '
                  f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img">'
                  f'{body}</svg>')


def line_chart(points: Sequence[tuple[str, float | None]], width: int = 320, height: int = 150,
               lo: float = 0, hi: float = 100, ticks: Sequence[float] = (0, 25, 50, 75, 100),
               fmt: Callable[[float], str] = lambda v: f"{v:.0f}",
               tick_fmt: Callable[[float], str] | None = None) -> Markup:
    """A line chart with a y axis (``ticks`` between ``lo`` and ``hi``, gridlines) and one x
    label per point; a None value is a gap in the line. Pass only the points that exist (the
    agent card passes the months with a score): nothing to draw is the empty string."""
    if not any(v is not None for _, v in points):
        return Markup("")
    tick_fmt = tick_fmt or fmt
    left = max(text_width(tick_fmt(t), SMALL) for t in ticks) + 10
    right, top, bottom = 8, 22, 24
    n = len(points)
    plot_w, plot_h = width - left - right, height - top - bottom
    # the first and last points stand in from the axes by half their label, so no label is cut
    inset = max(max(text_width(label, SMALL) for label, _ in points),
                max(text_width(fmt(v)) for _, v in points if v is not None)) / 2 + 6
    step = (plot_w - 2 * inset) / (n - 1) if n > 1 else 0

    def x(i: int) -> float:
        return left + (inset + i * step if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h - (min(max(v, lo), hi) - lo) / (hi - lo) * plot_h

    parts = []
    for tick in ticks:
        parts.append(f'<line x1="{left:.1f}" y1="{y(tick):.1f}" x2="{width - right:.1f}" '
                     f'y2="{y(tick):.1f}" stroke="{GRID}"/>'
                     f'<text x="{left - 6:.1f}" y="{y(tick) + SMALL / 3:.1f}" font-size="{SMALL}" '
                     f'text-anchor="end" fill="{MUTED}">{escape(tick_fmt(tick))}</text>')
    parts.append(f'<line x1="{left:.1f}" y1="{top:.1f}" x2="{left:.1f}" y2="{top + plot_h:.1f}" '
                 f'stroke="{MUTED}"/><line x1="{left:.1f}" y1="{top + plot_h:.1f}" '
                 f'x2="{width - right:.1f}" y2="{top + plot_h:.1f}" stroke="{MUTED}"/>')
    segments: list[list[tuple[float, float]]] = [[]]
    for i, (label, value) in enumerate(points):
        parts.append(f'<text x="{x(i):.1f}" y="{height - 6}" font-size="{SMALL}" '
                     f'text-anchor="middle" fill="{MUTED}">{escape(label)}</text>')
        if value is None:
            segments.append([])
            continue
        segments[-1].append((x(i), y(value)))
        parts.append(f'<circle cx="{x(i):.1f}" cy="{y(value):.1f}" r="3" fill="{BRAND}"/>'
                     f'<text x="{x(i):.1f}" y="{y(value) - 7:.1f}" font-size="{FONT}" '
                     f'text-anchor="middle" fill="{INK}">{escape(fmt(value))}</text>')
    lines = "".join(
        f'<polyline fill="none" stroke="{BRAND}" stroke-width="2" points="'
        + " ".join(f"{a:.1f},{b:.1f}" for a, b in seg) + '"/>'
        for seg in segments if len(seg) > 1)
    return _svg(width, height, lines + "".join(parts))


def bar_chart(items: Sequence[tuple], width: int = 320, bar: int = 18,
              fmt: Callable[[float], str] = lambda v: f"{v:.0f}", color: str = BRAND) -> Markup:
    """Horizontal bars: ``(label, value)`` or ``(label, value, tag)`` per row, the tag (a grade,
    say) in bold before the label. The label and value columns are as wide as their longest
    text, so neither is ever clipped; the bars share what is left."""
    if not items:
        return Markup("")
    rows = [(str(it[0]), it[1], str(it[2]) if len(it) > 2 and it[2] else "") for it in items]
    values = [fmt(v) if v is not None else "–" for _, v, _ in rows]
    tag_w = max(text_width(tag) for _, _, tag in rows)
    tag_w = tag_w + 8 if tag_w else 0
    label_w = tag_w + max(text_width(label) for label, _, _ in rows) + 10
    value_w = max(text_width(v) for v in values) + 8
    span = max(width - label_w - value_w, 40)
    width = max(width, int(label_w + value_w + span))
    top = max((v for _, v, _ in rows if v is not None), default=0) or 1
    gap = 6
    height = len(rows) * (bar + gap) - gap
    out = []
    for i, ((label, value, tag), shown) in enumerate(zip(rows, values, strict=True)):
        y0 = i * (bar + gap)
        base = y0 + bar / 2 + FONT / 3
        w = 0 if value is None else max(0.0, value) / top * span
        if tag:
            out.append(f'<text x="0" y="{base:.1f}" font-size="{FONT}" font-weight="700" '
                       f'fill="{INK}">{escape(tag)}</text>')
        out.append(
            f'<text x="{tag_w:.1f}" y="{base:.1f}" font-size="{FONT}" fill="{INK}">'
            f'{escape(label)}</text>'
            f'<rect x="{label_w:.1f}" y="{y0}" width="{w:.1f}" height="{bar}" fill="{color}" '
            f'rx="2"/><text x="{label_w + w + 4:.1f}" y="{base:.1f}" font-size="{FONT}" '
            f'fill="{MUTED}">{escape(shown)}</text>')
    return _svg(width, height, "".join(out))


def histogram(values: Sequence[float], bands: Sequence[tuple[str, float, float]],
              width: int = 340, tags: Sequence[str] | None = None) -> Markup:
    """How many ``values`` fall in each band ``(label, lo, hi)`` (lo included), as bars; with
    ``tags``, each band's tag (its grade) before its label."""
    counts = [(label, float(sum(lo <= v < hi for v in values)),
               *([tags[i]] if tags else []))
              for i, (label, lo, hi) in enumerate(bands)]
    return bar_chart(counts, width=width, fmt=lambda v: f"{v:.0f}", color="#7b61ff")
