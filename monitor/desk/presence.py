"""Which agents have a console open: on this replica, and on the other desk replicas.

Each replica counts its own consoles; with several replicas on one PostgreSQL case
database, each sends its agents (`to_notice`) on every change and every heartbeat, and
keeps what the others sent (`heard`) until it is `ttl_ms` old, so a killed replica's
agents go offline by themselves.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

MAX_AGENTS: Final = 200  # per replica notice (bounds the payload and the memory)
MAX_REPLICAS: Final = 32
MAX_NAME: Final = 64


class Presence:
    """Agents with a console open and since when each has been idle, over every replica."""

    def __init__(self, clock: Callable[[], int], replica: str = "local",
                 ttl_ms: int = 6_000) -> None:
        self.clock = clock
        self.replica = replica
        self.ttl_ms = ttl_ms
        self.connections: dict[str, int] = {}  # this replica's consoles per agent
        self.idle_since: dict[str, int] = {}
        self.remote: dict[str, tuple[int, dict[str, int]]] = {}  # replica -> (heard at, agents)
        self.on_change: Callable[[], None] = lambda: None
        self.version = 0  # moves on every change here or heard (views built on it are stale)

    def _changed(self) -> None:
        self.version += 1
        self.on_change()

    def connect(self, name: str) -> None:
        """An agent's console connected."""
        self.connections[name] = self.connections.get(name, 0) + 1
        self.idle_since.setdefault(name, self._remote_idle(name) or self.clock())
        self._changed()

    def disconnect(self, name: str) -> None:
        """An agent's console went away."""
        n = self.connections.get(name, 0) - 1
        if n <= 0:
            self.connections.pop(name, None)
        else:
            self.connections[name] = n
        self._changed()

    def idle(self, name: str) -> None:
        """The agent finished or gave up a case."""
        self.idle_since[name] = self.clock()
        self._changed()

    def _live_remote(self) -> list[dict[str, int]]:
        now = self.clock()
        for replica in [r for r, (at, _) in self.remote.items() if now - at > self.ttl_ms]:
            del self.remote[replica]
        return [agents for _, agents in self.remote.values()]

    def _remote_idle(self, name: str) -> int | None:
        found = [a[name] for a in self._live_remote() if name in a]
        return max(found) if found else None

    def is_online(self, name: str) -> bool:
        """Whether the agent has a console open on any replica."""
        return name in self.connections or any(name in a for a in self._live_remote())

    def online(self) -> list[str]:
        """Agents with a console open on any replica."""
        names = set(self.connections)
        for agents in self._live_remote():
            names.update(agents)
        return sorted(names)

    def idle_of(self, name: str) -> int:
        """Since when the agent has been idle (the latest any replica saw), 0 if never."""
        here = self.idle_since.get(name)
        there = self._remote_idle(name)
        return max(v for v in (here, there, 0) if v is not None)

    def to_notice(self) -> str:
        """This replica's agents as a notice for the others."""
        agents = {n: self.idle_since.get(n, 0) for n in sorted(self.connections)[:MAX_AGENTS]}
        return json.dumps({"replica": self.replica, "agents": agents})

    def heard(self, payload: str) -> bool:
        """Take another replica's notice; True when it changed who is online there."""
        try:
            msg: Any = json.loads(payload)
            replica, agents = str(msg["replica"])[:MAX_NAME], msg["agents"]
            parsed = {str(n)[:MAX_NAME]: int(v) for n, v in list(agents.items())[:MAX_AGENTS]}
        except (ValueError, KeyError, TypeError, AttributeError):
            return False
        if replica == self.replica:
            return False
        if replica not in self.remote and len(self.remote) >= MAX_REPLICAS:
            return False
        before = self.remote.get(replica)
        self.remote[replica] = (self.clock(), parsed)
        if before is None or before[1] != parsed:  # who, or since when idle
            self.version += 1
        return before is None or set(before[1]) != set(parsed)
