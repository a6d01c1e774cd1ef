"""The voice-of-the-customer digest as HTML: a whole page (email) or the body (the desk)."""

from __future__ import annotations

from html import escape
from typing import Final

from monitor.voc_charts import bar_chart
from monitor.voc_format import TITLES, Table, period_text, sections, title
from outreach.decide.voc_rules import Digest

STYLE: Final = (
    "body{font-family:sans-serif;max-width:60rem;margin:1rem auto;color:#1a202c}"
    "table{border-collapse:collapse;margin:.5rem 0 1rem}"
    "th,td{border:1px solid #cbd5e0;padding:.2rem .5rem;text-align:left}"
    "th{background:#edf2f7}.problem{margin:.3rem 0}.action{color:#2f855a}"
)


def _table(t: Table) -> str:
    if not t.rows:
        return f"<h4>{escape(t.title)}</h4><p>none</p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in t.header)
    rows = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>"
                   for r in t.rows)
    return f"<h4>{escape(t.title)}</h4><table><thead><tr>{head}</tr></thead>" \
           f"<tbody>{rows}</tbody></table>"


def body(digest: Digest) -> str:
    """The digest's HTML without the page around it (every text escaped)."""
    out = [f'<article class="voc"><h2>{escape(title(digest))}</h2>',
           f"<p>Previous period beside it: {escape(period_text(digest.previous))}.</p>"]
    for s in sections(digest):
        out.append(f'<section class="team" data-team="{s.team}"><h3>{TITLES[s.team]}</h3>')
        if s.problems:
            out.append("<ol class=\"problems\">")
            for p in s.problems:
                out.append(
                    f'<li class="problem"><strong>{escape(p.subject)}</strong>: '
                    f"{escape(p.figures)} (previous period: {escape(p.previous)}). "
                    f'<span class="action">Suggested: {escape(p.action)}.</span></li>')
            out.append("</ol>")
        else:
            out.append("<p>No problems stand out this period.</p>")
        out += [f"<p>{escape(n)}</p>" for n in s.notes]
        out += [f'<figure class="chart">{bar_chart(c.title, c.bars)}</figure>' for c in s.charts]
        out += [_table(t) for t in s.tables]
        out.append("</section>")
    out.append("</article>")
    return "".join(out)


def html(digest: Digest) -> str:
    """The digest as a whole HTML page (charts inline as SVG, no scripts)."""
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{escape(title(digest))}</title><style>{STYLE}</style></head>"
            f"<body>{body(digest)}</body></html>\n")
