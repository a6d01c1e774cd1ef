"""The case report for people: its period (`--since 7d`, `?since=`), CSV and terminal table.

The rows come from `outreach.store.reports.build_report`; `firstcall report` and the
desk's `/api/reports` read the period and write the rows with these; `family_text` writes
the family report (`outreach.store.family_reports`, `firstcall report --families`).
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from typing import Final

from outreach.decide.outcomes import OUTCOMES
from outreach.store.family_reports import FamilyReport, FamilyRow
from outreach.store.reports import ReportRow

_SPAN = re.compile(r"^([0-9]{1,12}(?:\.[0-9]{1,6})?)\s*([smhdw])$", re.ASCII)
_UNIT_MS: Final = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
MAX_INPUT_CHARS: Final = 64  # longer than any date, span or epoch ms
MAX_SPAN_MS: Final = 100 * 365 * 86_400_000  # a century back is plenty
MAX_EPOCH_MS: Final = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
# OWASP (CSV injection): a cell starting with one of these is read as a formula.
FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def _unreadable(text: str) -> ValueError:
    shown = text if len(text) <= 40 else text[:40] + "..."
    return ValueError(
        f"cannot read {shown!r}: use 90m, 2h, 7d, an ISO date (2026-01-31) or epoch ms"
    )


def parse_since(text: str, now_ms: int) -> int:
    """`90m`, `2h`, `7d` (ago), an ISO date or time (UTC if no zone), or epoch ms.

    Bounded: a span of at most a century, a time between 1970 and 9999; anything else
    (or longer than `MAX_INPUT_CHARS`) is a ValueError quoting at most 40 characters.
    """
    text = text.strip()
    if len(text) > MAX_INPUT_CHARS:
        raise _unreadable(text)
    m = _SPAN.match(text)
    if m:
        span = float(m[1]) * _UNIT_MS[m[2]]
        if span > MAX_SPAN_MS:
            raise ValueError(f"{text!r} is too far back: at most {MAX_SPAN_MS // 86_400_000}d")
        return now_ms - int(span)
    if text.isascii() and text.isdigit():
        value = int(text)
    else:
        try:
            when = datetime.fromisoformat(text)
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            value = int(when.timestamp() * 1000)
        except (ValueError, OverflowError):
            raise _unreadable(text) from None
    if not 0 <= value <= MAX_EPOCH_MS:
        raise ValueError(f"{text!r} is out of range: between 1970 and 9999")
    return value


def safe_cell(value: object) -> object:
    """A text cell a spreadsheet would run as a formula, prefixed with `'` (OWASP).

    A bare CR becomes LF so the writer quotes the cell (its line ends are `\n`).
    """
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_START):
        value = "'" + value
    return value.replace("\r\n", "\n").replace("\r", "\n")


def related_text(row: ReportRow, sep: str = ", ") -> str:
    """A line incident's related lines as the web report lists them: `isp:a/x, isp:b/x (2)`."""
    return sep.join(k if n == 1 else f"{k} ({n})" for k, n in sorted(row.related_lines.items()))


def csv_text(rows: list[ReportRow], by: str) -> str:
    """The report as CSV: one row per group, one column per outcome, the related lines last."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow([by, "incidents", "lesson_minutes_lost", "contacts", *OUTCOMES, "open",
                "top_causes", "related_lines"])
    for g in rows:
        causes = "; ".join(f"{c} ({n})" for c, n in g.top_causes())
        w.writerow([safe_cell(g.key), g.incidents, f"{g.lesson_minutes_lost:.2f}", g.contacts,
                    *(g.outcomes.get(o, 0) for o in OUTCOMES), g.outcomes.get("open", 0),
                    safe_cell(causes), safe_cell(related_text(g, "; "))])
    return out.getvalue()


def _aligned(head: list[str], body: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
    return ["  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip()
            for r in [head, *body]]  # fmt: skip


def table_text(rows: list[ReportRow], by: str) -> str:
    """The report as an aligned text table for the terminal, related lines under their row."""
    head = [by, "incidents", "min lost", "contacts", "outcomes", "top causes"]
    body = [[g.key, str(g.incidents), f"{g.lesson_minutes_lost:.1f}", str(g.contacts),
             ", ".join(f"{k} {v}" for k, v in sorted(g.outcomes.items())),
             ", ".join(f"{c} ({n})" for c, n in g.top_causes())] for g in rows]
    if not body:
        return "no incidents in this period\n"
    aligned = _aligned(head, body)
    lines = aligned[:1]
    for g, line in zip(rows, aligned[1:], strict=True):
        lines.append(line)
        if g.related_lines:
            lines.append(f"  related lines: {related_text(g)}")
    total_min = sum(g.lesson_minutes_lost for g in rows)
    total_inc = sum(g.incidents for g in rows)
    lines.append(f"total: {total_inc} incidents, {total_min:.1f} lesson minutes lost")
    return "\n".join(lines) + "\n"


def family_text(report: FamilyReport) -> str:
    """The family report as text: contacts per family, recurring families, escalations."""
    if not report.families:
        return "no family cases in this period\n"
    head = ["family", "cases", "incidents", "contacts", "min lost"]

    def rows(families: list[FamilyRow]) -> list[list[str]]:
        return [[f.student_id, str(f.cases), str(f.incidents), str(f.contacts),
                 f"{f.lesson_minutes_lost:.1f}"] for f in families]  # fmt: skip

    lines = ["contacts per family", *_aligned(head, rows(report.families)), ""]
    lines += ["recurring families (top 20 by lesson minutes lost)"]
    lines += _aligned(head, rows(report.recurring)) if report.recurring else ["none"]
    lines += ["", "escalations by reason"]
    lines += [f"{reason}  {n}" for reason, n in report.escalations.most_common()] or ["none"]
    return "\n".join(lines) + "\n"
