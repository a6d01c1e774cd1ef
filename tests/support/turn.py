"""A TURN relay (Debian's coturn) behind a userspace UDP proxy that drops and delays datagrams.

What ../shared/notes/webrtc-impairment.md found works on this machine kind: a page whose
peer connections use `iceTransportPolicy: 'relay'` through the proxy sends all its media
across it, so the proxy's loss and delay degrade the real call. `loss` and `delay_s` may be
changed while the call runs.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from bench.procs import stop_process
from tests.support.kafka_broker import free_port
from tests.support.services import service_missing

USER, PASSWORD = "fc", "fc-turn"


def free_udp_port() -> int:
    """An unused UDP port on loopback (also free for TCP, as coturn listens on both)."""
    import socket

    while True:
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


@dataclass
class Impairment:
    """Drop a share of datagrams and delay the rest, each way."""

    loss: float = 0.0
    delay_s: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    forwarded: int = 0
    dropped: int = 0


class _Upstream(asyncio.DatagramProtocol):
    def __init__(self, proxy: _Proxy, client: tuple[str, int]) -> None:
        self.proxy, self.client = proxy, client
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.proxy.forward(data, lambda d: self.proxy.transport.sendto(d, self.client))


class _Proxy(asyncio.DatagramProtocol):
    def __init__(self, target: tuple[str, int], imp: Impairment) -> None:
        self.target, self.imp = target, imp
        self.transport: Any = None
        self.upstreams: dict[tuple[str, int], _Upstream] = {}
        self.opening: set[asyncio.Task[Any]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def forward(self, data: bytes, send: Any) -> None:
        if self.imp.loss and self.imp.rng.random() < self.imp.loss:
            self.imp.dropped += 1
            return
        self.imp.forwarded += 1
        if self.imp.delay_s:
            asyncio.get_running_loop().call_later(self.imp.delay_s, send, data)
        else:
            send(data)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        up = self.upstreams.get(addr)
        if up is None:
            up = _Upstream(self, addr)
            self.upstreams[addr] = up
            loop = asyncio.get_running_loop()
            task = loop.create_task(
                loop.create_datagram_endpoint(lambda: up, remote_addr=self.target))
            self.opening.add(task)  # the first datagram is lost; STUN/TURN retransmit it
            task.add_done_callback(self.opening.discard)
        if up.transport is not None:
            self.forward(data, up.transport.sendto)


@dataclass
class Relay:
    """The ICE server a page should use, and the impairment to turn up or down."""

    url: str
    impairment: Impairment

    def ice_config(self) -> dict[str, Any]:
        """RTCPeerConnection configuration: relay only, through the proxy."""
        return {"iceServers": [{"urls": self.url, "username": USER, "credential": PASSWORD}],
                "iceTransportPolicy": "relay"}


@asynccontextmanager
async def turn_relay() -> AsyncIterator[Relay]:
    """coturn on a free loopback port and the impairing proxy in front of it."""
    binary = shutil.which("turnserver")
    if binary is None:
        service_missing("coturn", "turnserver not found (deploy/dev-system-deps.sh installs it)")
    turn_port, proxy_port = free_udp_port(), free_udp_port()
    log = tempfile.NamedTemporaryFile(prefix="fc-turn-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(
        [binary, "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
         f"--listening-port={turn_port}", f"--user={USER}:{PASSWORD}", "--realm=test",
         "--lt-cred-mech", "--no-tls", "--no-dtls", "--allow-loopback-peers", "--no-cli",
         "--min-port=49152", "--max-port=65000", f"--log-file={log.name}", "--simple-log"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    imp = Impairment()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _Proxy(("127.0.0.1", turn_port), imp), local_addr=("127.0.0.1", proxy_port))
    try:
        await asyncio.sleep(0.5)
        if proc.poll() is not None:
            service_missing("coturn", f"turnserver exited ({proc.returncode}), see {log.name}")
        yield Relay(f"turn:127.0.0.1:{proxy_port}?transport=udp", imp)
    finally:
        transport.close()
        stop_process(proc, timeout_s=5, kill_s=5)
