"""What a session engine tells the line correlator, and its wire form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import msgspec

FindingKind = Literal["join", "leave", "episode_start", "episode_end"]


class Finding(msgspec.Struct, frozen=True, array_like=True):
    """A session event the line correlator needs: membership and episodes."""

    kind: FindingKind
    session_id: str
    classroom_id: str
    edge: str
    isp: str
    region: str
    ts: int
    detected_at: int = 0
    episode: str = ""
    incident_id: str = ""

    @property
    def line_keys(self) -> tuple[str, str]:
        """The two lines this session travels on: its edge and its isp+region."""
        return (f"edge:{self.edge}", f"isp:{self.isp}/{self.region}")

    def to_bytes(self) -> bytes:
        """Compact JSON for the internal re-keyed topic."""
        return _ENC.encode(self)

    @staticmethod
    def from_bytes(raw: bytes) -> Finding:
        """Parse the wire form."""
        return _DEC.decode(raw)


_ENC = msgspec.json.Encoder()
_DEC = msgspec.json.Decoder(Finding)


@dataclass(frozen=True, slots=True)
class SessionContext:
    """Who and where a session is (from its `join`)."""

    student_id: str
    classroom_id: str
    edge: str
    isp: str
    region: str
    device: str = ""
    app_version: str = ""
    conn: str = ""

    @property
    def known_line(self) -> bool:
        """True when the session's line is known (a join was seen)."""
        return bool(self.edge)

    def line(self) -> dict[str, str]:
        """The session's line as in the incident contract."""
        return {"isp": self.isp, "region": self.region, "edge": self.edge}
