"""A surge on one line: many sessions' problems beginning at once, before any line verdict.

When a media edge fails, the workers detect its sessions' drops within seconds, and the
correlator names the line incident only once enough of them are in (30 % of the line). On a
school of thousands of sessions per edge that is a thousand or more incident records
reaching the outreach service before the line record does; taken in one by one as ordinary
families' records, they hold up the problems of every other classroom polled after them
(issue 20: ten seconds at 20,000 sessions). So a record whose line (its edge, or its ISP and
region) has had at least `sessions` sessions' problems begin within `window_ms` of its own
(event time, the incidents' start) is treated like a covered family's: it waits in the
outreach service's backlog and is taken in behind the ordinary families. Nothing is
decided differently: the family's case opens a little later, and its decision (which the
policy holds for the line verdict anyway) follows its incident, as always.

Fed in arrival order; `sessions` 0 turns it off.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable

from detectors.records import Incident, Outreach

SURGE_SESSIONS = 100  # sessions of one line whose problems began within the window
SURGE_WINDOW_MS = 5_000  # event time, between the starts


def line_keys(line: dict[str, str]) -> list[str]:
    """The lines a session is on: its edge, its ISP and region (those the record names)."""
    keys = []
    if line.get("edge"):
        keys.append(f"edge:{line['edge']}")
    if line.get("isp") or line.get("region"):
        keys.append(f"isp:{line.get('isp', '')}/{line.get('region', '')}")
    return keys


class _Line:
    """One line's recent starts, in arrival order, within the window of its newest start."""

    __slots__ = ("edges", "newest", "sessions", "starts")

    def __init__(self) -> None:
        self.starts: deque[tuple[int, str, str]] = deque()  # (start, session, its edge)
        self.sessions: Counter[str] = Counter()
        self.edges: Counter[str] = Counter()  # sessions per edge (an ISP's line: on which edges)
        self.newest = 0

    def add(self, started_at: int, session_id: str, edge: str, window_ms: int) -> None:
        self.starts.append((started_at, session_id, edge))
        if self.sessions[session_id] == 0:
            self.edges[edge] += 1  # (sessions, not records, per edge)
        self.sessions[session_id] += 1
        self.newest = max(self.newest, started_at)
        while self.starts and self.starts[0][0] < self.newest - window_ms:
            _, gone, on = self.starts.popleft()
            self.sessions[gone] -= 1
            if self.sessions[gone] > 0:
                continue
            del self.sessions[gone]
            self.edges[on] -= 1
            if self.edges[on] <= 0:
                del self.edges[on]


class LineSurge:
    """Which records belong to a surge of new problems on their line (event time).

    An edge that fails puts its sessions' problems on their ISPs' lines too: an ISP's line
    surges only by the starts on its edges that do not surge themselves, so a family of
    another edge on the same ISP is not taken for part of the edge's outage.
    """

    def __init__(self, sessions: int = SURGE_SESSIONS, window_ms: int = SURGE_WINDOW_MS) -> None:
        self.threshold = sessions
        self.window_ms = window_ms
        self._lines: dict[str, _Line] = {}

    def note(self, records: Iterable[Incident | Outreach]) -> None:
        """Count the opening records of sessions' incidents (in arrival order)."""
        if self.threshold <= 0:
            return
        for r in records:
            if isinstance(r, Incident) and _counted(r):
                edge = r.line.get("edge", "")
                for key in line_keys(r.line):
                    line = self._lines.get(key)
                    if line is None:
                        line = self._lines[key] = _Line()
                    line.add(r.started_at, r.session_id or "", edge, self.window_ms)

    def surging(self, record: Incident | Outreach) -> bool:
        """Is this the opening record of a problem that began in a surge on its line?"""
        if self.threshold <= 0 or not isinstance(record, Incident) or not _counted(record):
            return False
        for key in line_keys(record.line):
            line = self._lines.get(key)
            if line is None or record.started_at < line.newest - self.window_ms:
                continue
            if key.startswith("edge:"):
                if self._edge_surges(key):
                    return True
            elif len(line.sessions) - sum(n for edge, n in line.edges.items()
                                        if edge and self._edge_surges(f"edge:{edge}")
                                        ) >= self.threshold:  # fmt: skip
                return True
        return False

    def _edge_surges(self, key: str) -> bool:
        line = self._lines.get(key)
        return line is not None and len(line.sessions) >= self.threshold


def _counted(inc: Incident) -> bool:
    return inc.kind != "line" and inc.state == "open" and bool(inc.session_id)
