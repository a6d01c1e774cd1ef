"""Why a detection was missed or extra: lost in delivery, clock skew, or the detector.

The oracle is re-run on what the detectors actually received (duplicates
removed), once with each client's clock skew taken off again and once as
received. If the oracle on the received stream also misses (or also finds) an
episode, the difference comes from the messy delivery, not the detector.
"""

from __future__ import annotations

from typing import Any

import orjson

from monitor.simulate.run import SimResult
from monitor.simulate.score import Score, score
from monitor.simulate.truth import find_episodes

Row = dict[str, Any]


def received(result: SimResult, unskew: bool) -> list[Row]:
    """The delivered events, each once, optionally with the clock skew removed."""
    skew = {s["session_id"]: s["skew_ms"] for s in result.sessions}
    seen: set[bytes] = set()
    out: list[Row] = []
    for raw in result.lines():
        if raw in seen:
            continue
        seen.add(raw)
        ev = orjson.loads(raw)
        if unskew:
            ev["ts"] -= skew[ev["session_id"]]
        out.append(ev)
    return out


def explain(result: SimResult, s: Score) -> list[Row]:
    """Each missed and extra episode with its likely cause."""
    tol = s.tolerance_ms
    end = max((e["ts"] for e in result.clean), default=0)
    unskewed = find_episodes(received(result, unskew=True), end)
    as_seen = find_episodes(received(result, unskew=False), end + 3000)
    out: list[Row] = []
    for row in s.missed:
        if not _agrees([row], unskewed, tol):
            cause = "lost in delivery (dropped stats)"
        elif not _agrees([row], as_seen, tol):
            cause = "clock skew moves it"
        else:
            cause = "detector"
        out.append({"missed": row, "cause": cause})
    for det in s.extra:
        if _agrees([det], as_seen, tol) or _agrees([det], unskewed, tol):
            cause = "the received stream really shows it (delivery)"
        else:
            cause = "detector"
        out.append({"extra": det, "cause": cause})
    return out


def _agrees(rows: list[Row], reference: list[Row], tol: int) -> bool:
    """True if every row is matched by an episode of `reference`."""
    probe = [{**r, "record": "incident", "state": "open"} for r in reference]
    plain = [
        {k: v for k, v in r.items() if k in ("kind", "session_id", "line", "started_at")}
        for r in rows
    ]
    return score(probe, plain, tol).recall == 1.0
