"""The burn-down chart as SVG: budget remaining over the period, drawn from the report's own points.

A few lines of SVG rather than a plotting library: the service image needs no
matplotlib for one polyline, and SVG renders in every Markdown viewer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from xml.sax.saxutils import escape

WIDTH, HEIGHT, MARGIN = 640, 240, 40


def svg(title: str, points: list[tuple[float, float]]) -> str:
    start, end = points[0][0], points[-1][0]
    low = min(0.0, *(remaining for _, remaining in points))
    span_x = (end - start) or 1.0
    span_y = 1.0 - low or 1.0

    def x(t: float) -> float:
        return MARGIN + (t - start) / span_x * (WIDTH - 2 * MARGIN)

    def y(remaining: float) -> float:
        return MARGIN + (1.0 - remaining) / span_y * (HEIGHT - 2 * MARGIN)

    line = " ".join(f"{x(t):.1f},{y(r):.1f}" for t, r in points)
    ideal = f"{x(start):.1f},{y(1):.1f} {x(end):.1f},{y(0):.1f}"
    day = "%Y-%m-%d"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif"'
        f' font-size="11">\n'
        f"  <title>{escape(title)}</title>\n"
        f'  <text x="{MARGIN}" y="20" font-size="13">{escape(title)}</text>\n'
        f'  <line x1="{MARGIN}" y1="{y(0):.1f}" x2="{WIDTH - MARGIN}" y2="{y(0):.1f}" stroke="#999"/>\n'
        f'  <text x="4" y="{y(1):.1f}">100%</text>\n  <text x="4" y="{y(0):.1f}">0%</text>\n'
        f'  <polyline points="{ideal}" fill="none" stroke="#bbb" stroke-dasharray="4 3"/>\n'
        f'  <polyline points="{line}" fill="none" stroke="#c0392b" stroke-width="2"/>\n'
        f'  <text x="{MARGIN}" y="{HEIGHT - 10}">{datetime.fromtimestamp(start, UTC):{day}}</text>\n'
        f'  <text x="{WIDTH - MARGIN}" y="{HEIGHT - 10}" text-anchor="end">'
        f"{datetime.fromtimestamp(end, UTC):{day}}</text>\n"
        "</svg>\n"
    )
