"""The collector's way into Kafka: a bounded buffer and one sender that waits for acks.

A request hands its records to :meth:`Sink.submit` and is answered once the broker
acknowledged every one of them (acks=all). While the broker is unreachable the records
wait in memory, in order, and are sent again until acknowledged; when the buffer holds
`capacity` records a new request is refused at once (`full`), and a request that waited
`timeout_s` gets `timeout` while its records stay buffered and are still sent. So
nothing the collector acknowledged is lost, and a refused request may arrive twice
(the workers are idempotent; the detectors take duplicates).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from monitor.platform.logging import get_logger
from monitor.streaming.backoff import Backoff

log = get_logger(__name__)

Outcome = Literal["acked", "full", "timeout"]


@dataclass(frozen=True, slots=True)
class Record:
    """One record to produce."""

    topic: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


class Producer(Protocol):
    """What the sink needs of a Kafka producer (aiokafka's AIOKafkaProducer has it)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, topic: str, value: bytes | None = None, key: bytes | None = None,
                   headers: Any = None) -> Awaitable[Any]: ...


@runtime_checkable
class BatchProducer(Producer, Protocol):
    """A producer that also takes many records at once (monitor/collect/kafka_batches.py)."""

    async def send_records(self, records: Sequence[Record]) -> Sequence[Awaitable[Any]]: ...


@dataclass(slots=True)
class _Pending:
    records: Sequence[Record]
    done: asyncio.Future[None]
    enqueued: float = field(default_factory=time.monotonic)


class Sink:
    """Buffers records up to `capacity`, sends them in order, resolves each batch on ack."""

    def __init__(self, producer: Producer, capacity: int,
                 backoff: Backoff | None = None,
                 on_error: Callable[[BaseException], None] = lambda _e: None,
                 on_acked: Callable[[int, float], None] = lambda _n, _s: None) -> None:
        self.producer = producer
        self.capacity = capacity
        self.buffered = 0
        self.connected = False
        self._queue: deque[_Pending] = deque()
        self._wake = asyncio.Event()
        self._backoff = backoff or Backoff(base=0.2, cap=5.0)
        self._on_error = on_error
        self._on_acked = on_acked
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the sender (it connects to the broker, retrying, in the background)."""
        self._task = asyncio.create_task(self._run())

    async def stop(self, drain_s: float = 5.0) -> None:
        """Give buffered records `drain_s` to be acknowledged, then stop the producer."""
        deadline = time.monotonic() + drain_s
        while self._queue and self.connected and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            await self.producer.stop()
        if self._queue:
            log.warning("collect_stopped_with_unacked", records=self.buffered)

    async def submit(self, records: Sequence[Record], timeout_s: float) -> Outcome:
        """Hand records over; `acked` once the broker has all of them."""
        if not records:
            return "acked"
        if self.buffered + len(records) > self.capacity:
            return "full"
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(records, done))
        self.buffered += len(records)
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(done), timeout_s)
        except TimeoutError:
            return "timeout"
        return "acked"

    async def _run(self) -> None:
        await self._connect()
        while True:
            while not self._queue:
                self._wake.clear()
                await self._wake.wait()
            batch = list(self._queue)  # everything waiting goes out together (group commit)
            try:
                if isinstance(self.producer, BatchProducer):
                    futures = await self.producer.send_records(
                        [r for p in batch for r in p.records])
                else:
                    futures = [await self.producer.send(r.topic, value=r.value, key=r.key,
                                                        headers=list(r.headers) or None)
                               for p in batch for r in p.records]
                await asyncio.gather(*futures)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # broker away or slow: keep everything, send again
                self.connected = False
                self._on_error(exc)
                delay = self._backoff.next_delay()
                log.warning("collect_broker_unavailable", error=str(exc) or type(exc).__name__,
                            buffered=self.buffered, retry_in_s=round(delay, 2))
                await asyncio.sleep(delay)
                continue
            self.connected = True
            self._backoff.reset()
            now = time.monotonic()
            for p in batch:
                self._queue.popleft()
                self.buffered -= len(p.records)
                self._on_acked(len(p.records), now - p.enqueued)
                if not p.done.done():
                    p.done.set_result(None)

    async def _connect(self) -> None:
        while True:
            try:
                await self.producer.start()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._on_error(exc)
                delay = self._backoff.next_delay()
                log.warning("collect_broker_unreachable", error=str(exc) or type(exc).__name__,
                            retry_in_s=round(delay, 2))
                await asyncio.sleep(delay)
                continue
            self.connected = True
            self._backoff.reset()
            return
