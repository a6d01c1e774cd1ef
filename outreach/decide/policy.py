"""The outreach policy over a stream of incidents: waits out the hold-off, then decides.

Pure and clock-injected like the detectors: time is the incidents' event time
and :meth:`OutreachPolicy.advance`. It runs the same in replay (dry-run) and
live; live mode hands each non-`none` decision to the channels.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from detectors.line_pressure import Strain
from detectors.records import Incident, Outreach
from outreach.decide.decision import DecisionContext, FamilyPrefs, PolicyConfig
from outreach.decide.family_cases import FamilyCase, FamilyCases
from outreach.decide.pipeline import decide
from outreach.decide.stages.record import ContactLedger

_PRUNE_EVERY_MS = 600_000
_KEEP_MS = 86_400_000

FamilyLookup = Callable[[str], FamilyPrefs | None]
LineStrains = Callable[[dict[str, str], int], Sequence[Strain]]


@dataclass(slots=True)
class _Pending:
    incident: Incident
    due: int
    case: FamilyCase
    joined: bool
    closed_at: int | None = None
    waited_for_line: bool = False


@dataclass(slots=True)
class _Coverage:
    incident_id: str
    ended_at: int | None = None


@dataclass
class OutreachPolicy:
    """Decides, for each session incident, whether and how to reach the family."""

    config: PolicyConfig
    on_outreach: Callable[[Outreach], None]
    family: FamilyLookup = field(default=lambda _sid: None)
    line_strains: LineStrains = field(default=lambda _line, _now: ())
    decisions: Counter[tuple[str, str]] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.now = 0
        self._pending: dict[str, _Pending] = {}
        self._queue: list[tuple[int, str]] = []
        self._decided: dict[str, int] = {}  # incident id -> decided at (for dedup)
        self._pruned_at = 0
        self._open: dict[str, dict[str, str]] = {}
        self._covered: dict[str, _Coverage] = {}
        self._line_members: dict[str, list[str]] = {}
        self.ledger = ContactLedger()
        self.cases = FamilyCases(self.config)

    def on_incident(self, inc: Incident) -> None:
        """Take one incident record (session or line; open, update or closed)."""
        if inc.kind == "line":
            self._line(inc)
            return
        sid = inc.session_id or ""
        iid = inc.incident_id
        if inc.state == "open":
            self._open.setdefault(sid, {})[iid] = inc.kind
            if iid in self._decided or iid in self._pending:
                return
            due = inc.detected_at + self.config.hold_off_ms
            case, joined = self.cases.take(inc, own_case=not self.config.family_cases)
            self._pending[iid] = _Pending(inc, due, case, joined)
            heapq.heappush(self._queue, (due, iid))
        elif inc.state == "closed":
            self.cases.ended(inc)
            opened = self._open.get(sid)
            if opened is not None:
                opened.pop(iid, None)
                if not opened:
                    del self._open[sid]
            p = self._pending.get(iid)
            if p is not None:
                closed_at = inc.evidence.get("closed_at", inc.ended_at)
                p.closed_at = closed_at if isinstance(closed_at, int) else self.now

    def advance(self, now_ms: int) -> None:
        """Decide every incident whose hold-off has run out by `now_ms`."""
        if now_ms > self.now:
            self.now = now_ms
        if self.now - self._pruned_at >= _PRUNE_EVERY_MS:
            self._prune()
        q = self._queue
        while q and q[0][0] <= self.now:
            due, iid = heapq.heappop(q)
            p = self._pending.get(iid)
            if p is None or iid in self._decided:
                continue
            if self._wait_for_line(p, due):
                continue
            del self._pending[iid]
            self._decide(p, due)

    def _prune(self) -> None:
        """Forget what can no longer matter (a day of dedup memory is kept)."""
        horizon = self.now - _KEEP_MS
        self._pruned_at = self.now
        self._decided = {k: t for k, t in self._decided.items() if t >= horizon}
        self.ledger.prune(horizon)
        self.cases.prune(self.now, horizon)
        for sid in [s for s, c in self._covered.items()
                    if c.ended_at is not None and c.ended_at < horizon]:
            del self._covered[sid]

    def _wait_for_line(self, p: _Pending, due: int) -> bool:
        """Others on this line are in trouble too: give the line verdict time to come."""
        cfg = self.config
        sid = p.incident.session_id or ""
        if p.waited_for_line or self._covering(sid, due) is not None:
            return False
        if not self._line_suspect(p.incident.line, due):
            return False
        p.waited_for_line = True
        p.due = due + cfg.line_wait_ms
        heapq.heappush(self._queue, (p.due, p.incident.incident_id))
        return True

    def _line_suspect(self, line: dict[str, str], due: int) -> bool:
        """Enough of a line's sessions in trouble, with nothing else explaining it, may be it.

        A session a line incident already covers does not count: an edge that went down
        leaves its ISPs' lines in trouble too, but their verdict has come (the edge's).
        """
        cfg = self.config
        for strain in self.line_strains(line, due):
            if len(strain.sessions) < cfg.line_suspect_sessions:
                continue
            unexplained = sum(1 for sid in strain.sessions if self._covering(sid, due) is None)
            if unexplained >= cfg.line_suspect_sessions and (
                strain.active <= 0 or unexplained >= cfg.line_suspect_share * strain.active
            ):
                return True
        return False

    def next_due(self) -> int:
        """Event time of the next pending decision (far future if none)."""
        return self._queue[0][0] if self._queue else 1 << 62

    def _line(self, inc: Incident) -> None:
        """A line incident record: its sessions (all, or those added since) become covered."""
        iid = inc.incident_id
        members = self._line_members.setdefault(iid, [])
        for sid in inc.sessions or []:
            cov = self._covered.get(sid)
            if cov is None or cov.incident_id != iid:
                self._covered[sid] = _Coverage(iid)
                members.append(sid)
        if inc.state == "closed":
            for sid in self._line_members.pop(iid, []):
                cov = self._covered.get(sid)
                if cov is not None and cov.incident_id == iid:
                    cov.ended_at = inc.ended_at if inc.ended_at is not None else self.now

    def _covering(self, sid: str, now: int) -> str | None:
        cov = self._covered.get(sid)
        if cov is None:
            return None
        if cov.ended_at is not None and now - cov.ended_at > self.config.line_coverage_grace_ms:
            del self._covered[sid]
            return None
        return cov.incident_id

    def _decide(self, p: _Pending, due: int) -> None:
        inc = p.incident
        sid = inc.session_id or ""
        student = inc.student_id or ""
        room = inc.classroom_id or ""
        cfg = self.config
        opened = self._open.get(sid, {})
        calls_lesson, calls_day = self.ledger.calls(student, room, due)
        ctx = DecisionContext(
            incident_id=inc.incident_id,
            kind=inc.kind,
            session_id=sid,
            student_id=student,
            classroom_id=room,
            detected_at=inc.detected_at,
            now=due,
            incident_closed=p.closed_at is not None and p.closed_at <= due,
            session_dropped="disconnect" in opened.values(),
            covering_line_incident=self._covering(sid, due),
            contacted_recently=self.ledger.contacted_within(sid, due, cfg.contact_cooldown_ms),
            calls_this_lesson=calls_lesson,
            calls_today=calls_day,
            family=self.family(student),
            case=self.cases.view(p.case, due) if p.joined else None,
        )
        stage, decision = decide(ctx, cfg)
        self.ledger.record(ctx, decision)
        self.cases.record(p.case, decision.action, due)
        self._decided[inc.incident_id] = due
        self.decisions[(decision.action, decision.reason)] += 1
        self.on_outreach(
            Outreach(
                incident_id=inc.incident_id,
                case_id=p.case.case_id,
                session_id=sid,
                student_id=student,
                action=decision.action,
                reason=decision.reason,
                decided_at=due,
                detail={"stage": stage},
            )
        )
