"""Small inline SVG bar charts for the digest: this period beside the previous one."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Final

WIDTH: Final = 560
LABEL_W: Final = 180
ROW_H: Final = 26
BAR_H: Final = 10
NOW_COLOUR: Final = "#2b6cb0"
BEFORE_COLOUR: Final = "#a0aec0"
MAX_LABEL: Final = 28


@dataclass(frozen=True, slots=True)
class Bar:
    """One label with its value this period and the previous one."""

    label: str
    now: float
    before: float = 0.0


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def bar_chart(title: str, bars: list[Bar]) -> str:
    """A horizontal bar chart as one line of SVG (labels escaped); 'no data' when empty."""
    head = 24
    height = head + max(1, len(bars)) * ROW_H + 18
    top = max([b.now for b in bars] + [b.before for b in bars] + [0.0])
    scale = (WIDTH - LABEL_W - 60) / top if top > 0 else 0.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}" '
        'font-family="sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="14" font-weight="bold">{escape(title)}</text>',
    ]
    if not bars:
        parts.append(f'<text x="0" y="{head + 16}">no data</text>')
    for i, b in enumerate(bars):
        y = head + i * ROW_H
        now_w, before_w = b.now * scale, b.before * scale
        parts += [
            f'<text x="{LABEL_W - 6}" y="{y + 14}" text-anchor="end">{escape(_short(b.label))}'
            "</text>",
            f'<rect x="{LABEL_W}" y="{y + 2}" width="{now_w:.1f}" height="{BAR_H}" '
            f'fill="{NOW_COLOUR}"/>',
            f'<rect x="{LABEL_W}" y="{y + 2 + BAR_H}" width="{before_w:.1f}" height="{BAR_H}" '
            f'fill="{BEFORE_COLOUR}"/>',
            f'<text x="{LABEL_W + now_w + 4:.1f}" y="{y + 11}">{round(b.now, 1):g}</text>',
        ]
    legend = head + max(1, len(bars)) * ROW_H + 12
    parts += [
        f'<rect x="{LABEL_W}" y="{legend - 9}" width="10" height="10" fill="{NOW_COLOUR}"/>',
        f'<text x="{LABEL_W + 14}" y="{legend}">this period</text>',
        f'<rect x="{LABEL_W + 100}" y="{legend - 9}" width="10" height="10" '
        f'fill="{BEFORE_COLOUR}"/>',
        f'<text x="{LABEL_W + 114}" y="{legend}">previous</text>',
        "</svg>",
    ]
    return "".join(parts)
