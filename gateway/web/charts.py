"""Bar charts as inline SVG, drawn on the server: no JavaScript, no chart library, nothing
fetched. Every text is escaped (labels may one day carry supplier text)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH = 640
HEIGHT = 220
TOP = 20
BOTTOM = 40
LEFT = 40


@dataclass(frozen=True, slots=True)
class Bar:
    label: str  # under the bar, e.g. the month
    value: float | None  # a share from 0 to 1; None draws no bar and says "-"
    shown: str  # the value as the page's locale writes it, over the bar


def percent_bars(title: str, bars: Sequence[Bar]) -> Markup:
    """A titled bar chart of shares (0 to 100 %), one bar per entry, left to right."""
    plot = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT) / max(len(bars), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}">',
             f"<title>{escape(title)}</title>"]
    for share in (0, 50, 100):
        y = TOP + plot * (1 - share / 100)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="#ccc" stroke-width="1"/>'
                     f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" '
                     f'font-size="11">{share}%</text>')
    for index, bar in enumerate(bars):
        x = LEFT + index * slot + slot * 0.2
        middle = x + slot * 0.3
        if bar.value is not None:
            height = plot * min(max(bar.value, 0.0), 1.0)
            parts.append(f'<rect x="{x:.1f}" y="{TOP + plot - height:.1f}" '
                         f'width="{slot * 0.6:.1f}" height="{height:.1f}" fill="#3a6ea5">'
                         f"<title>{escape(bar.label)}: {escape(bar.shown)}</title></rect>")
        top = TOP + plot - (plot * (bar.value or 0.0)) - 4
        parts.append(f'<text x="{middle:.1f}" y="{top:.1f}" text-anchor="middle" '
                     f'font-size="11">{escape(bar.shown or "-")}</text>'
                     f'<text x="{middle:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                     f'font-size="11">{escape(bar.label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
