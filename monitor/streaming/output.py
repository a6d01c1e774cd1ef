"""Records to produce, and a sender that returns only once the broker acked them all."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from monitor.streaming.backoff import Backoff


@dataclass(slots=True)
class Out:
    """One record to produce; `on_ack` runs once the broker has acknowledged it."""

    topic: str
    value: bytes | None
    key: bytes | None = None
    partition: int | None = None
    headers: list[tuple[str, bytes]] | None = None
    on_ack: Callable[[], None] | None = None


def make_producer(bootstrap: str, client_id: str, **extra: Any) -> AIOKafkaProducer:
    """A producer that waits for full acknowledgement and batches briefly."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        acks="all",
        linger_ms=2,
        max_batch_size=256 * 1024,
        request_timeout_ms=10_000,
        retry_backoff_ms=200,
        **extra,
    )


class Sender:
    """Sends a list of records and retries the unacknowledged ones until all are acked."""

    def __init__(
        self,
        producer: AIOKafkaProducer,
        on_error: Callable[[BaseException, int, float], None],
        on_success: Callable[[], None] = lambda: None,
    ) -> None:
        self.producer = producer
        self.on_error = on_error
        self.on_success = on_success

    async def start(self, outs: Sequence[Out]) -> Callable[[], Awaitable[None]]:
        """Hand records to the producer now; the returned coroutine waits for all acks
        (retrying failures), so the caller can process the next batch meanwhile."""
        futures: list[tuple[Out, asyncio.Future[Any]]] = []
        failed: list[Out] = []
        for out in outs:
            try:
                fut = await self.producer.send(
                    out.topic, out.value, key=out.key, partition=out.partition, headers=out.headers
                )
            except KafkaError:
                failed.append(out)
            else:
                futures.append((out, fut))

        async def acked() -> None:
            results = await asyncio.gather(*(f for _, f in futures), return_exceptions=True)
            for (out, _), res in zip(futures, results, strict=True):
                if isinstance(res, BaseException):
                    if not isinstance(res, KafkaError):
                        raise res
                    failed.append(out)
                elif out.on_ack is not None:
                    out.on_ack()
            if failed:
                await self.send_all(failed)

        return acked

    async def send_all(self, outs: Sequence[Out]) -> None:
        """Produce every record; return when the broker acked each (at-least-once)."""
        pending = list(outs)
        backoff = Backoff()
        while pending:
            failed: list[Out] = []
            error: BaseException | None = None
            futures: list[tuple[Out, asyncio.Future[Any]]] = []
            for out in pending:
                try:
                    fut = await self.producer.send(
                        out.topic,
                        out.value,
                        key=out.key,
                        partition=out.partition,
                        headers=out.headers,
                    )
                except KafkaError as exc:
                    failed.append(out)
                    error = exc
                else:
                    futures.append((out, fut))
            results = await asyncio.gather(*(f for _, f in futures), return_exceptions=True)
            for (out, _), res in zip(futures, results, strict=True):
                if isinstance(res, BaseException):
                    if not isinstance(res, KafkaError):
                        raise res
                    failed.append(out)
                    error = res
                elif out.on_ack is not None:
                    out.on_ack()
            if not failed:
                self.on_success()
                return
            delay = backoff.next_delay()
            assert error is not None
            self.on_error(error, len(failed), delay)
            await asyncio.sleep(delay)
            pending = failed
