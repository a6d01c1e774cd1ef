"""Line incidents in the live runner: which sessions they cover, and paging infrastructure.

One page per outage: a line incident that belongs to an outage already paged (an
ISP+region line whose named edge is down, `evidence.related_to`, or an edge that is down
under ISP lines already paged as related to it) sends a note to that page instead of a
new page (`kind: "line_incident_note"`, with the page's `page_key`, its own Idempotency-Key
`<page_key>:note:<incident_id>`); the pages metric counts it as `noted`. Whichever line
was paged first holds the page: when an ISP line related to an edge comes before the
edge's own incident, the ISP line is paged (nothing tells yet that the edge is down) and
the edge adds a note to that page when it arrives. An edge's page or note sums the outage
up: `related_lines` lists the ISP+region lines already open that fail only because it is
down (their `line_id` and `case_id`, so the pages they sent on their own can be joined to it).
"""

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


@dataclass(frozen=True, slots=True)
class Outage:
    """The outage a line incident belongs to: the line case whose page holds it (None: the
    incident's own page) and, for an edge, the related lines open already (line id, case id)."""

    holder: str | None = None
    related: tuple[tuple[str, str], ...] = ()


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

    def ever_covered(self, session_id: str | None) -> bool:
        """Has a line incident the book still remembers covered this session at any time?"""
        return bool(self._covers.get(session_id or ""))

    def covering(self, session_id: str | None, started_at: int) -> str | None:
        """The line incident that covers a problem of this session begun at `started_at`."""
        grace = self.grace_ms
        for c in self._covers.get(session_id or "", []):
            if c.started_at - grace <= started_at and (
                    c.ended_at is None or started_at <= c.ended_at + grace):
                return c.incident_id
        return None


def page_payload(case_id: str, inc: Incident,
                 related: tuple[tuple[str, str], ...] = ()) -> dict[str, Any]:
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
        "related_lines": [{"line_id": line, "case_id": case} for line, case in related],
    }


def note_payload(case_id: str, inc: Incident, page_key: str, outage: Outage) -> dict[str, Any]:
    """The JSON of a note to an outage's page: this line incident is part of that outage."""
    return {**page_payload(case_id, inc, outage.related), "kind": "line_incident_note",
            "page_key": page_key, "outage_case_id": outage.holder}


async def page_key(cases: CaseStore, case_id: str) -> str | None:
    """The key of the page a line case was paged with or added a note to (None: not paged)."""
    paged = await cases.events_of(case_id, ("paged",))
    if not paged:
        return None
    key = paged[0].data.get("key") or paged[0].data.get("page_key")
    if key:
        return str(key)
    case = await cases.get(case_id)  # paged before pages named their key: its incident's
    return None if case is None else case.incident_id


async def page_once(
    pager: Pager | None, cases: CaseStore, metrics: OutreachMetrics, case_id: str, inc: Incident,
    paged: set[str], outage: Outage = Outage(),
) -> None:
    """Page infrastructure once per outage (`paged` remembers it; after a restart, the case's
    timeline, by one look-up): a line incident of an outage already paged (`outage.holder`:
    that page's line case) adds a note to that page instead."""
    if case_id in paged:
        return
    if await has_event(cases.engine, case_id, "paged"):
        paged.add(case_id)
        return
    # The page leaves the process: once the line case is committed (in a batch: after it).
    await after_commit(cases.engine, partial(_page, pager, cases, metrics, case_id, inc, outage),
                       key=("page", case_id))  # fmt: skip
    paged.add(case_id)


async def _page(
    pager: Pager | None, cases: CaseStore, metrics: OutreachMetrics, case_id: str, inc: Incident,
    outage: Outage,
) -> None:
    """The page (or the note to the outage's page), then its `paged` event."""
    key = None if outage.holder is None else await page_key(cases, outage.holder)
    metrics.line_incidents.labels("outage" if key is None else "related").inc()
    if key is not None and outage.holder is not None:
        data: dict[str, Any] = {"ok": False, "reason": "no_pager", "page_key": key,
                                "note_to": outage.holder}
        if pager is not None:
            result = await pager.page(f"{key}:note:{inc.incident_id}",
                                      note_payload(case_id, inc, key, outage))
            data.update(asdict(result))
        await cases.add_event(case_id, "paged", data, actor="pager")
        metrics.pages.labels("failed" if pager is not None and not data["ok"] else "noted").inc()
    elif pager is None:
        await cases.add_event(case_id, "paged", {"ok": False, "reason": "no_pager",
                                                 "key": inc.incident_id})
        metrics.pages.labels("no_pager").inc()
    else:
        result = await pager.page(inc.incident_id, page_payload(case_id, inc, outage.related))
        await cases.add_event(case_id, "paged", {"key": inc.incident_id, **asdict(result)},
                              actor="pager")
        metrics.pages.labels("sent" if result.ok else "failed").inc()
