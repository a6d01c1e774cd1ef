"""Disconnect: a `disconnect` event, 10 s of silence, or reconnects without `ok`.

The connection status machine of a session (the engine drives it):

    CONNECTED --reconnect(ok=false)--> RECONNECTING --reconnect(ok=true)--> CONNECTED
    CONNECTED/RECONNECTING --disconnect | silence | no ok in time--> DISCONNECTED
    DISCONNECTED --stats | heartbeat--> CONNECTED      any --leave--> LEFT
"""

from __future__ import annotations

from typing import Any, Final

CONNECTED: Final = 0
RECONNECTING: Final = 1
DISCONNECTED: Final = 2
LEFT: Final = 3
STATUS_NAMES: Final = ("connected", "reconnecting", "disconnected", "left")

CAUSE_EVENT: Final = "disconnect_event"
CAUSE_SILENCE: Final = "silence"
CAUSE_RECONNECT: Final = "reconnect_failed"


def silence_evidence(last_event_ts: int, silence_ms: int) -> dict[str, Any]:
    """Evidence of a silent disconnect."""
    return {"cause": CAUSE_SILENCE, "last_event_ts": last_event_ts, "silence_ms": silence_ms}


def reconnect_evidence(first_attempt_ts: int, attempts: int, timeout_ms: int) -> dict[str, Any]:
    """Evidence of a reconnect sequence that never got media back."""
    return {
        "cause": CAUSE_RECONNECT,
        "first_attempt_ts": first_attempt_ts,
        "attempts": attempts,
        "timeout_ms": timeout_ms,
    }


def event_evidence(reason: str) -> dict[str, Any]:
    """Evidence of a disconnect the client reported."""
    return {"cause": CAUSE_EVENT, "reason": reason}
