"""One desk among several: queue changes from any process reach this replica's consoles.

On PostgreSQL every committed queue change (queued, claimed, released, closed; by
`firstcall outreach`, by either desk replica, by a script) arrives as a notice
(migration 0007's triggers) and becomes a `queue` push to the consoles here. The
replicas also share who has a console open (`Presence`), so routing offers cases to
agents connected to any replica. On SQLite (one process) nothing runs: the desk is told
in process.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import structlog

from monitor.desk.presence import Presence
from outreach.store.notices import Notices

log = structlog.get_logger(__name__)
Notify = Callable[[str], None]
MAX_CASE_ID = 128


class Replicas:
    """Follows the case database's notices for one desk replica, until cancelled."""

    def __init__(self, notices: Notices, presence: Presence, notify: Notify,
                 heartbeat_s: float = 2.0) -> None:
        self.notices = notices
        self.presence = presence
        self.notify = notify
        self.heartbeat_s = heartbeat_s
        self._dirty = asyncio.Event()
        self._online: list[str] = []
        presence.on_change = self._dirty.set

    def queue_changed(self, case_id: str) -> None:
        """A queue change committed somewhere: the consoles refetch the queue and the case."""
        self.notify("queue")
        self.notify(f"case:{case_id[:MAX_CASE_ID]}")
        self.notify("dashboard")

    def presence_heard(self, payload: str) -> None:
        """Another replica's agents: the consoles refetch when who is online changed."""
        if self.presence.heard(payload):
            self._check_online()

    def _check_online(self) -> None:
        online = self.presence.online()
        if online != self._online:
            self._online = online
            self.notify("queue")

    def _connected(self) -> None:
        # notices sent while we were not listening are lost: refresh, and say who is here
        self.notify("queue")
        self.notify("dashboard")
        self._dirty.set()

    async def run(self) -> None:
        """Listen and send this replica's presence on change and every `heartbeat_s`."""
        listener = asyncio.create_task(self.notices.listen(
            {"queue": self.queue_changed, "presence": self.presence_heard}, self._connected))
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._dirty.wait(), self.heartbeat_s)
                self._dirty.clear()
                self._check_online()  # a silent replica's agents expire
                try:
                    await self.notices.send("presence", self.presence.to_notice())
                except Exception as exc:  # the database away: the next beat tries again
                    log.warning("presence_send_failed", error=str(exc))
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
