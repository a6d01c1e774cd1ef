"""The voice-of-the-customer digest for people: per team, tables and charts, as Markdown or CSV.

`sections` lays a `Digest` out once (problems, tables, charts per team); `markdown`,
`csv_text` and `monitor.voc_html.html` render that layout. Charts are inline SVG
(`monitor.voc_charts`).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from typing import Final

from monitor.report_format import safe_cell
from monitor.voc_charts import Bar, bar_chart
from outreach.decide.voc import NO_SCORES, LineTally, PeriodFigures, Tally
from outreach.decide.voc_rules import Digest, Problem

TITLES: Final = {"infrastructure": "Infrastructure", "product": "Product and engineering",
                 "teaching": "Teaching", "support": "Support"}
ROWS: Final = 10  # rows per table
BARS: Final = 8  # bars per chart


@dataclass(slots=True)
class Table:
    """A titled table: a header and rows of text cells."""

    title: str
    header: list[str]
    rows: list[list[str]]


@dataclass(slots=True)
class Chart:
    """A titled bar chart, this period beside the previous one."""

    title: str
    bars: list[Bar]


@dataclass(slots=True)
class Section:
    """One team's part of the digest."""

    team: str
    problems: list[Problem]
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def day(ms: int) -> str:
    """A UTC time, readable."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def period_text(figures: PeriodFigures) -> str:
    """`<since> to <until>`."""
    return f"{day(figures.since_ms)} to {day(figures.until_ms)}"


def _num(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _tally_table(title: str, what: str, cur: list[Tally], prev: list[Tally]) -> Table:
    before = {t.key: t for t in prev}
    rows = []
    for t in cur[:ROWS]:
        p = before.get(t.key)
        rows.append([t.key, str(t.incidents), _num(t.minutes_lost), str(len(t.students)),
                     str(p.incidents) if p else "0", _num(p.minutes_lost) if p else "0.0"])
    return Table(title, [what, "incidents", "min lost", "students", "prev incidents",
                         "prev min lost"], rows)


def _tally_chart(title: str, cur: list[Tally], prev: list[Tally]) -> Chart:
    before = {t.key: t.minutes_lost for t in prev}
    return Chart(title, [Bar(t.key, t.minutes_lost, before.get(t.key, 0.0)) for t in cur[:BARS]])


def _line_table(cur: list[LineTally], prev: list[LineTally]) -> Table:
    before = {t.key: t for t in prev}
    rows = []
    for t in cur[:ROWS]:
        p = before.get(t.key)
        key = t.key + (f" (related: {', '.join(sorted(t.related))})" if t.related else "")
        rows.append([key, str(t.incidents), str(len(t.sessions)), _num(t.minutes_lost),
                     _num(t.detect_p50_s, 0), str(p.incidents) if p else "0",
                     _num(p.minutes_lost) if p else "0.0"])
    return Table("Worst lines", ["line", "incidents", "sessions", "min lost", "detect p50 s",
                                 "prev incidents", "prev min lost"], rows)


def _infrastructure(d: Digest) -> Section:
    cur, prev = d.current, d.previous
    detect = [ms for t in cur.lines for ms in t.detect_ms]
    detect_prev = [ms for t in prev.lines for ms in t.detect_ms]

    def p50(values: list[int]) -> str:
        return "n/a" if not values else f"{sorted(values)[(len(values) - 1) // 2] / 1000:.0f}"

    totals = Table("Totals", ["figure", "this period", "previous"], [
        ["line incidents", str(cur.line_incidents), str(prev.line_incidents)],
        ["sessions hit", str(sum(len(t.sessions) for t in cur.lines)),
         str(sum(len(t.sessions) for t in prev.lines))],
        ["lesson minutes lost", _num(sum(t.minutes_lost for t in cur.lines)),
         _num(sum(t.minutes_lost for t in prev.lines))],
        ["session problems caused by a line", str(cur.line_caused), str(prev.line_caused)],
        ["time to detect p50 (s)", p50(detect), p50(detect_prev)],
    ])
    before = {t.key: t.minutes_lost for t in prev.lines}
    chart = Chart("Lesson minutes lost by line",
                  [Bar(t.key, t.minutes_lost, before.get(t.key, 0.0)) for t in cur.lines[:BARS]])
    return Section("infrastructure", d.problems["infrastructure"],
                   [totals, _line_table(cur.lines, prev.lines)], [chart])


def _product(d: Digest) -> Section:
    cur, prev = d.current, d.previous
    by = cur.satisfaction_by
    notes = [f"Follow-up scores by release, lowest first: {by.get('app_version', NO_SCORES)}.",
             "Session problems caused by a line incident are counted under infrastructure."]
    if d.worse_release is not None:
        notes.insert(0, f"New release {d.worse_release.new.key} is worse than "
                        f"{d.worse_release.before.key}.")
    return Section("product", d.problems["product"], [
        _tally_table("By app version", "app version", cur.by_app_version, prev.by_app_version),
        _tally_table("By operating system", "os", cur.by_os, prev.by_os),
        _tally_table("By device", "device", cur.by_device, prev.by_device),
    ], [_tally_chart("Lesson minutes lost by app version", cur.by_app_version,
                     prev.by_app_version),
        _tally_chart("Lesson minutes lost by device", cur.by_device, prev.by_device)], notes)


def _teaching(d: Digest) -> Section:
    cur, prev = d.current, d.previous
    return Section("teaching", d.problems["teaching"], [
        _tally_table("Classrooms with the most lesson minutes lost", "classroom",
                     cur.by_classroom, prev.by_classroom),
        _tally_table("Teachers with the most lesson minutes lost", "teacher", cur.by_teacher,
                     prev.by_teacher),
    ], [_tally_chart("Lesson minutes lost by classroom", cur.by_classroom, prev.by_classroom)],
        [f"Follow-up scores by classroom, lowest first: "
         f"{cur.satisfaction_by.get('classroom_id', NO_SCORES)}.",
         f"Follow-up scores by teacher, lowest first: "
         f"{cur.satisfaction_by.get('teacher', NO_SCORES)}."])


def _support(d: Digest) -> Section:
    cur, prev = d.current, d.previous
    figures = Table("First contact and cases", ["figure", "this period", "previous"], [
        ["session cases", str(cur.session_cases), str(prev.session_cases)],
        ["lesson minutes lost", _num(cur.minutes_lost), _num(prev.minutes_lost)],
        ["time to first contact p50 (s)", _num(cur.first_contact_p50_s, 0),
         _num(prev.first_contact_p50_s, 0)],
        ["time to first contact p95 (s)", _num(cur.first_contact_p95_s, 0),
         _num(prev.first_contact_p95_s, 0)],
        ["follow-up scores", cur.satisfaction, prev.satisfaction],
    ])
    names = sorted(set(cur.outcomes) | set(prev.outcomes),
                   key=lambda o: (-cur.outcomes.get(o, 0), o))
    outcomes = Table("Outcomes", ["outcome", "this period", "previous"],
                     [[o, str(cur.outcomes.get(o, 0)), str(prev.outcomes.get(o, 0))]
                      for o in names])
    before = dict(prev.recurring)
    recurring = Table("Recurring families (2 or more cases)", ["student", "cases", "previous"],
                      [[s, str(n), str(before.get(s, 0))] for s, n in cur.recurring[:ROWS]])
    chart = Chart("Cases by outcome", [Bar(o, float(cur.outcomes.get(o, 0)),
                                           float(prev.outcomes.get(o, 0))) for o in names[:BARS]])
    goodwill = Table("Goodwill given (families, by confirmation date)",
                     ["offer", "this period", "previous"],
                     [[label, str(cur.goodwill.get(kind, 0)), str(prev.goodwill.get(kind, 0))]
                      for kind, label in (("makeup", "make-up lessons"), ("credit", "credits"))])
    return Section("support", d.problems["support"],
                   [figures, outcomes, recurring, goodwill], [chart], [])


def sections(digest: Digest) -> list[Section]:
    """The digest laid out per team: infrastructure, product, teaching, support."""
    return [_infrastructure(digest), _product(digest), _teaching(digest), _support(digest)]


def title(digest: Digest) -> str:
    """The digest's heading."""
    return f"Voice of the customer: {period_text(digest.current)}"


def _md_cell(text: str) -> str:
    """Text for Markdown: HTML special characters escaped (renderers pass raw HTML through),
    pipes escaped, one line."""
    return escape(text, quote=False).replace("|", "\\|").replace("\n", " ")


def _md_table(t: Table) -> list[str]:
    lines = [f"**{t.title}**", ""]
    if not t.rows:
        return [*lines, "none", ""]
    lines.append("| " + " | ".join(t.header) + " |")
    lines.append("|" + "|".join("---" for _ in t.header) + "|")
    lines += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in t.rows]
    return [*lines, ""]


def problem_lines(problems: list[Problem]) -> list[str]:
    """The numbered top problems as plain text lines."""
    if not problems:
        return ["No problems stand out this period."]
    return [f"{i}. {p.subject}: {p.figures} (previous period: {p.previous}). "
            f"Suggested: {p.action}." for i, p in enumerate(problems, 1)]


def markdown(digest: Digest) -> str:
    """The digest as Markdown, charts inline as SVG."""
    out = [f"# {title(digest)}", "",
           f"Previous period beside it: {period_text(digest.previous)}.", ""]
    for s in sections(digest):
        out += [f"## {TITLES[s.team]}", "", "Top problems:", ""]
        out += [_md_cell(line) for line in problem_lines(s.problems)] + [""]
        out += [n for note in s.notes for n in (_md_cell(note), "")]
        for c in s.charts:
            out += [bar_chart(c.title, c.bars), ""]  # labels escaped by the chart
        for t in s.tables:
            out += _md_table(t)
    return "\n".join(out).rstrip() + "\n"


def csv_text(digest: Digest) -> str:
    """The digest as CSV: one row per problem and per table row (team, table, cells)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["team", "table", "key", "figures", "previous", "action"])
    for s in sections(digest):
        for i, p in enumerate(s.problems, 1):
            w.writerow([s.team, f"top problem {i}", safe_cell(p.subject), safe_cell(p.figures),
                        safe_cell(p.previous), safe_cell(p.action)])
        for t in s.tables:
            for r in t.rows:
                cells = "; ".join(f"{h} {c}" for h, c in zip(t.header[1:], r[1:], strict=True))
                w.writerow([s.team, t.title, safe_cell(r[0]), safe_cell(cells), "", ""])
    return out.getvalue()
