"""Scoring detected incidents against the simulator's ground truth.

A detection is an `open` incident record; it matches a truth episode of the
same kind and subject (the session, or the line) whose start is within
`tolerance_ms`. Matching is one-to-one.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from detectors.records import KINDS, line_id

Rec = Mapping[str, Any]


@dataclass(slots=True)
class KindScore:
    """Counts, recall, precision and median delay for one kind (or all)."""

    kind: str
    truth: int = 0
    detected: int = 0
    matched: int = 0
    delays_ms: list[int] = field(default_factory=list)

    @property
    def recall(self) -> float:
        """Share of true episodes that were detected (1.0 when there are none)."""
        return self.matched / self.truth if self.truth else 1.0

    @property
    def precision(self) -> float:
        """Share of detections that match a true episode (1.0 when there are none)."""
        return self.matched / self.detected if self.detected else 1.0

    @property
    def median_delay_ms(self) -> float | None:
        """Median of detected_at - true start over matched pairs."""
        return statistics.median(self.delays_ms) if self.delays_ms else None

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly figures."""
        return {
            "truth": self.truth,
            "detected": self.detected,
            "matched": self.matched,
            "recall": round(self.recall, 4),
            "precision": round(self.precision, 4),
            "median_delay_ms": self.median_delay_ms,
        }


@dataclass(slots=True)
class Score:
    """The result of scoring: per kind, overall, and what was missed or extra."""

    per_kind: dict[str, KindScore]
    overall: KindScore
    missed: list[dict[str, Any]]
    extra: list[dict[str, Any]]
    tolerance_ms: int

    @property
    def recall(self) -> float:
        """Overall recall."""
        return self.overall.recall

    @property
    def precision(self) -> float:
        """Overall precision."""
        return self.overall.precision

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly figures: per kind, overall, and the missed and extra episodes."""
        return {
            "tolerance_ms": self.tolerance_ms,
            "overall": self.overall.as_dict(),
            "per_kind": {k: ks.as_dict() for k, ks in self.per_kind.items()},
            "missed": self.missed,
            "extra": self.extra,
        }

    def report(self, examples: int = 5) -> str:
        """A small text report."""
        lines = [
            f"tolerance {self.tolerance_ms} ms",
            f"{'kind':<11}{'truth':>7}{'found':>7}{'match':>7}{'recall':>8}{'prec':>8}{'delay':>9}",
        ]
        for ks in [*self.per_kind.values(), self.overall]:
            delay = ks.median_delay_ms
            lines.append(
                f"{ks.kind:<11}{ks.truth:>7}{ks.detected:>7}{ks.matched:>7}"
                f"{ks.recall:>8.3f}{ks.precision:>8.3f}"
                + (f"{delay / 1000:>8.1f}s" if delay is not None else f"{'-':>9}")
            )
        for title, rows in (("missed", self.missed), ("extra", self.extra)):
            if rows:
                lines.append(f"{title} ({len(rows)}):")
                lines.extend(f"  {_describe(r)}" for r in rows[:examples])
        return "\n".join(lines)


def subject(rec: Rec) -> str:
    """What an incident or episode is about: the session, or the line."""
    if rec["kind"] == "line":
        return line_id(dict(rec["line"]))
    return str(rec["session_id"])


def _describe(rec: Rec) -> str:
    fault = f" fault={rec['fault']}" if "fault" in rec else ""
    return f"{rec['kind']} {subject(rec)} started_at={rec['started_at']}{fault}"


def opened(records: Iterable[Rec]) -> list[Rec]:
    """The `open` incident records among contract records (outreach is ignored)."""
    return [
        r for r in records if r.get("record", "incident") == "incident" and r.get("state") == "open"
    ]


def _match(truth: list[Rec], found: list[Rec], tolerance_ms: int) -> list[tuple[Rec, Rec]]:
    """Maximum one-to-one matching of start times within tolerance (both sorted)."""
    pairs = []
    i = j = 0
    while i < len(truth) and j < len(found):
        t, d = truth[i]["started_at"], found[j]["started_at"]
        if abs(t - d) <= tolerance_ms:
            pairs.append((truth[i], found[j]))
            i += 1
            j += 1
        elif d < t:
            j += 1
        else:
            i += 1
    return pairs


def matches(found: Iterable[Rec], truth: Iterable[Rec],
            tolerance_ms: int = 5000) -> dict[tuple[str, str], tuple[list[Rec], list[Rec],
                                                                    list[tuple[Rec, Rec]]]]:
    """Truth episodes and detections by (kind, subject), sorted, with their matched pairs."""
    groups_t: dict[tuple[str, str], list[Rec]] = defaultdict(list)
    groups_f: dict[tuple[str, str], list[Rec]] = defaultdict(list)
    for r in truth:
        groups_t[(r["kind"], subject(r))].append(r)
    for r in found:
        groups_f[(r["kind"], subject(r))].append(r)
    out = {}
    for key in set(groups_t) | set(groups_f):
        ts = sorted(groups_t.get(key, []), key=lambda r: r["started_at"])
        fs = sorted(groups_f.get(key, []), key=lambda r: r["started_at"])
        out[key] = (ts, fs, _match(ts, fs, tolerance_ms))
    return out


def score(incidents: Iterable[Rec], truth: Iterable[Rec], tolerance_ms: int = 5000) -> Score:
    """Match detections to truth by kind, subject and start time; recall, precision, delay."""
    truth = list(truth)
    per_kind = {k: KindScore(k) for k in KINDS}
    overall = KindScore("all")
    matched_ids: set[int] = set()
    for key, (ts, fs, pairs) in matches(opened(incidents), truth, tolerance_ms).items():
        ks = per_kind.setdefault(key[0], KindScore(key[0]))
        ks.truth += len(ts)
        ks.detected += len(fs)
        for t, f in pairs:
            matched_ids.update((id(t), id(f)))
            ks.matched += 1
            if "detected_at" in f:
                ks.delays_ms.append(int(f["detected_at"]) - int(t["started_at"]))
    for ks in per_kind.values():
        overall.truth += ks.truth
        overall.detected += ks.detected
        overall.matched += ks.matched
        overall.delays_ms.extend(ks.delays_ms)
    found = opened(incidents)
    missed = [dict(r) for r in truth if id(r) not in matched_ids]
    extra = [dict(r) for r in found if id(r) not in matched_ids]
    missed.sort(key=lambda r: r["started_at"])
    extra.sort(key=lambda r: r["started_at"])
    return Score(per_kind, overall, missed, extra, tolerance_ms)
