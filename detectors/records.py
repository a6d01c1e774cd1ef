"""Incident and outreach records (contract: incidents v1) and their JSON form."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import orjson

IncidentKind = Literal["lag", "disconnect", "flapping", "line"]
IncidentState = Literal["open", "update", "closed"]
Action = Literal["call", "sms", "chat", "agent_queue", "none"]

KINDS: Final = ("lag", "disconnect", "flapping", "line")
ACTIONS: Final = ("call", "sms", "chat", "agent_queue", "none")


def stable_id(prefix: str, *parts: object) -> str:
    """A short id that is the same for the same parts on every run."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=10).hexdigest()
    return f"{prefix}-{digest}"


def incident_id_for(kind: str, subject: str, started_at: int) -> str:
    """The stable id of the incident of `kind` on `subject` that began at `started_at`."""
    return stable_id(kind, subject, started_at)


def case_id_for(incident_id: str) -> str:
    """The support case of an incident, derived from its id (stable across restarts).

    The kind is left out on purpose: incidents of one session that begin at the same
    moment (a disconnect and the flapping episode it starts) are one problem for the
    family, so they share one case and one owner.
    """
    return "case-" + incident_id.split("-", 1)[-1]


@dataclass(slots=True)
class Incident:
    """One state change of an incident (open, update or closed)."""

    incident_id: str
    kind: IncidentKind
    state: IncidentState
    started_at: int
    detected_at: int
    ended_at: int | None
    line: dict[str, str]
    evidence: dict[str, Any]
    session_id: str | None = None
    student_id: str | None = None
    classroom_id: str | None = None
    sessions: list[str] | None = None
    # Line incidents: members so far (1.2). With it, `sessions` of an update or closed record
    # holds only the sessions added since the incident's previous record.
    session_count: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON object."""
        out: dict[str, Any] = {
            "record": "incident",
            "incident_id": self.incident_id,
            "kind": self.kind,
            "state": self.state,
        }
        if self.kind == "line":
            out["line"] = self.line
            out["sessions"] = list(self.sessions or [])
            if self.session_count is not None:
                out["session_count"] = self.session_count
        else:
            out["session_id"] = self.session_id
            out["student_id"] = self.student_id
            out["classroom_id"] = self.classroom_id
            out["line"] = self.line
        out["started_at"] = self.started_at
        out["detected_at"] = self.detected_at
        out["ended_at"] = self.ended_at
        out["evidence"] = self.evidence
        return out

    @property
    def key(self) -> str:
        """The Kafka message key: session id, or the line id for line incidents."""
        if self.kind == "line":
            return line_id(self.line)
        return self.session_id or ""


@dataclass(slots=True)
class Outreach:
    """One decision about contacting a family (or not)."""

    incident_id: str
    case_id: str
    session_id: str
    student_id: str
    action: Action
    reason: str
    decided_at: int
    detail: dict[str, Any] = field(default_factory=dict)  # internal (e.g. deciding stage)

    def to_dict(self) -> dict[str, Any]:
        """The contract's JSON object."""
        out: dict[str, Any] = {
            "record": "outreach",
            "incident_id": self.incident_id,
            "case_id": self.case_id,
            "session_id": self.session_id,
            "student_id": self.student_id,
            "action": self.action,
            "reason": self.reason,
            "decided_at": self.decided_at,
        }
        return out


Record = Incident | Outreach


def line_id(line: dict[str, str]) -> str:
    """A readable id of a line: `edge:<edge>` or `isp:<isp>/<region>`."""
    if "edge" in line and len(line) == 1:
        return f"edge:{line['edge']}"
    if "isp" in line and "region" in line and "edge" not in line:
        return f"isp:{line['isp']}/{line['region']}"
    return "line:" + "/".join(f"{k}={line[k]}" for k in sorted(line))


def encode(record: Record) -> bytes:
    """One JSON Lines row (without the newline)."""
    return orjson.dumps(record.to_dict())


def decode_record(raw: bytes) -> Incident | Outreach:
    """Parse a record written by :func:`encode` (for consumers of support.incidents)."""
    obj = orjson.loads(raw)
    if obj.get("record") == "outreach":
        return Outreach(
            incident_id=obj["incident_id"],
            case_id=obj["case_id"],
            session_id=obj["session_id"],
            student_id=obj["student_id"],
            action=obj["action"],
            reason=obj["reason"],
            decided_at=obj["decided_at"],
            detail=obj.get("detail") or {},
        )
    return Incident(
        incident_id=obj["incident_id"],
        kind=obj["kind"],
        state=obj["state"],
        started_at=obj["started_at"],
        detected_at=obj["detected_at"],
        ended_at=obj["ended_at"],
        line=obj.get("line") or {},
        evidence=obj.get("evidence") or {},
        session_id=obj.get("session_id"),
        student_id=obj.get("student_id"),
        classroom_id=obj.get("classroom_id"),
        sessions=obj.get("sessions"),
        session_count=obj.get("session_count"),
    )
