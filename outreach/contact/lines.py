"""Line incidents in the live runner: which sessions they cover, and paging infrastructure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any, Protocol

from detectors.records import Incident, line_id
from outreach.channels.webhook import PageResult
from outreach.contact.metrics import OutreachMetrics
from outreach.store.cases import CaseStore
from outreach.store.incident_records import has_event
from outreach.store.unit import after_commit


class Pager(Protocol):
    """Pages infrastructure (e.g. :class:`outreach.channels.webhook.WebhookPager`)."""

    async def page(self, key: str, payload: Mapping[str, Any]) -> PageResult:
        """Send one page."""
        ...


@dataclass(slots=True)
class _Cover:
    incident_id: str
    started_at: int
    ended_at: int | None = None


class LineBook:
    """The line incidents each session was part of (in memory; decisions carry it too)."""

    def __init__(self, grace_ms: int) -> None:
        self.grace_ms = grace_ms
        self._covers: dict[str, list[_Cover]] = {}
        self._members: dict[str, list[str]] = {}  # open line incident -> its sessions so far

    def take(self, inc: Incident) -> None:
        """Note a line incident record (open, update or closed), in time per session named.

        A record names the incident's sessions (open) or those added since the last
        (update, closed: contract 1.2); a closed record ends the cover of every member.
        """
        iid = inc.incident_id
        members = self._members.setdefault(iid, [])
        for sid in inc.sessions or []:
            covers = self._covers.setdefault(sid, [])
            if not any(c.incident_id == iid for c in covers):
                covers.append(_Cover(iid, inc.started_at))
                members.append(sid)
        if inc.state == "closed":
            end = inc.ended_at if inc.ended_at is not None else inc.detected_at
            for sid in self._members.pop(iid, []):
                for c in self._covers.get(sid, []):
                    if c.incident_id == iid:
                        c.ended_at = end

    def prune(self, before: int) -> None:
        """Forget line incidents that ended before `before` (event time)."""
        for sid in list(self._covers):
            kept = [c for c in self._covers[sid] if c.ended_at is None or c.ended_at >= before]
            if kept:
                self._covers[sid] = kept
            else:
                del self._covers[sid]

    def covers(self, session_id: str | None, started_at: int) -> bool:
        """Was a problem of this session that began at `started_at` part of a line incident?"""
        return self.covering(session_id, started_at) is not None

    def covering(self, session_id: str | None, started_at: int) -> str | None:
        """The line incident that covers a problem of this session begun at `started_at`."""
        grace = self.grace_ms
        for c in self._covers.get(session_id or "", []):
            if c.started_at - grace <= started_at and (
                    c.ended_at is None or started_at <= c.ended_at + grace):
                return c.incident_id
        return None


def page_payload(case_id: str, inc: Incident) -> dict[str, Any]:
    """The JSON the infrastructure team's webhook receives."""
    return {
        "kind": "line_incident",
        "incident_id": inc.incident_id,
        "case_id": case_id,
        "line": inc.line,
        "line_id": line_id(inc.line),
        "sessions": len(inc.sessions or []) if inc.session_count is None else inc.session_count,
        "started_at": inc.started_at,
        "detected_at": inc.detected_at,
        "evidence": inc.evidence,
    }


async def page_once(
    pager: Pager | None, cases: CaseStore, metrics: OutreachMetrics, case_id: str, inc: Incident,
    paged: set[str],
) -> None:
    """Page infrastructure once per line incident (`paged` remembers it; after a restart, the
    case's timeline, by one look-up)."""
    if case_id in paged:
        return
    if await has_event(cases.engine, case_id, "paged"):
        pass
    elif pager is None:
        await cases.add_event(case_id, "paged", {"ok": False, "reason": "no_pager"})
        metrics.pages.labels("no_pager").inc()
    else:  # the page leaves the process: once the line case is committed (in a batch: after)
        await after_commit(
            cases.engine, partial(_page, pager, cases, metrics, case_id, inc), key=("page", case_id)
        )
    paged.add(case_id)


async def _page(
    pager: Pager, cases: CaseStore, metrics: OutreachMetrics, case_id: str, inc: Incident
) -> None:
    result = await pager.page(inc.incident_id, page_payload(case_id, inc))
    await cases.add_event(case_id, "paged", asdict(result), actor="pager")
    metrics.pages.labels("sent" if result.ok else "failed").inc()
