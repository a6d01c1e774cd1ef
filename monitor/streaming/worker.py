"""The telemetry worker: a consumer-group member that decodes, detects and commits after acks."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError

import detectors
from detectors.telemetry import BadRecord, Event, TelemetryDecoder
from monitor.platform.gc_tuning import tune_for_batches
from monitor.platform.kafka_settings import KafkaSettings
from monitor.platform.logging import get_logger
from monitor.platform.metrics import Metrics
from monitor.streaming.backoff import Backoff, retry_forever
from monitor.streaming.dlq import dlq_headers
from monitor.streaming.health import broker_health_loop
from monitor.streaming.lean import install as install_lean_records
from monitor.streaming.lean import lean_values
from monitor.streaming.output import Out, Sender, make_producer
from monitor.streaming.protocols import PartitionProcessor, ProcessorFactory
from monitor.streaming.rebalance import DelegatingListener
from monitor.streaming.state import StateStore

Clock = Callable[[], float]
MAX_INFLIGHT_BATCHES = 2
FETCH_HANDOFF_PASSES = 3  # aiokafka 0.14 sends the request on the 2nd pass (tests check it)


async def hand_off_to_fetcher(passes: int = FETCH_HANDOFF_PASSES) -> None:
    """Let aiokafka's fetcher send the next fetch before a batch's CPU-bound processing.

    The fetcher asks for a partition again only once `getmany` drained it, and only when
    the event loop runs; without this the request waits until the batch is processed, so
    the broker's round trip adds to every batch instead of overlapping it (on the 2-core
    bench at 140k msg/s: p99 arrival-to-decision 185-350 ms without, 120-135 ms with).
    """
    for _ in range(passes):
        await asyncio.sleep(0)


class TelemetryWorker:
    """Consumes `class.telemetry` in batches; produces outputs; commits once they are acked."""

    def __init__(
        self,
        settings: KafkaSettings,
        factory: ProcessorFactory,
        metrics: Metrics,
        *,
        lateness_ms: int = 5_000,
        clock: Clock = time.time,
        background: Iterable[Callable[[], Coroutine[Any, Any, None]]] = (),
        consumer_extra: dict[str, Any] | None = None,
    ) -> None:
        self.s = settings
        self.factory = factory
        self.metrics = metrics
        self.lateness_ms = lateness_ms
        self.clock = clock
        self.background = list(background)
        self.log = get_logger("worker", group=settings.worker_group)
        self.decoder = TelemetryDecoder()
        self.processors: dict[int, PartitionProcessor] = {}
        self.owned: set[int] = set()  # assigned by the group and not revoked since
        self.next_offsets: dict[int, int] = {}
        self.uncommitted: dict[int, int] = {}  # processed and acked, commit not yet accepted
        self._inflight: deque[asyncio.Task[None]] = deque()  # batches awaiting acks + commit
        self.max_stamp: dict[int, int] = {}
        self.expect: dict[int, int] = {}  # after a seek: the only acceptable next offset
        self.lock = asyncio.Lock()
        self.broker_ok = False
        self.assigned_once = asyncio.Event()
        self.stopping = asyncio.Event()
        self.processed = 0
        self.batches = 0
        self.producer = make_producer(settings.bootstrap, settings.client_id)
        self.lean = settings.record_path == "lean" and install_lean_records()
        if self.lean:  # records arrive as aiokafka decoded them, without ConsumerRecord
            consumer_extra = {"value_deserializer": lean_values, **(consumer_extra or {})}
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.bootstrap,
            group_id=settings.worker_group,
            client_id=settings.client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=4 * 1024 * 1024,
            fetch_max_bytes=16 * 1024 * 1024,
            fetch_max_wait_ms=50,  # the broker may hold a fetch this long: bounds latency
            request_timeout_ms=15_000,
            session_timeout_ms=10_000,
            heartbeat_interval_ms=1_000,
            **(consumer_extra or {}),
        )
        self.sender = Sender(self.producer, self._send_error, self._broker_success)
        self.store = StateStore(settings.bootstrap, settings.topics.state, self.producer)

    # -- readiness -------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """True when connected to the broker and owning restored partitions."""
        return self.broker_ok and self.assigned_once.is_set() and not self.stopping.is_set()

    def _set_broker(self, ok: bool) -> None:
        if ok != self.broker_ok:
            self.log.info("broker_reachable" if ok else "broker_unreachable")
        self.broker_ok = ok
        self.metrics.ready.set(1 if self.ready else 0)

    def _broker_success(self) -> None:
        self._set_broker(True)

    def _send_error(self, exc: BaseException, count: int, delay: float) -> None:
        self.metrics.broker_errors.labels("produce").inc()
        self._set_broker(False)
        self.log.warning(
            "produce_failed_retrying", error=repr(exc), records=count, retry_in_s=round(delay, 2)
        )

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Connect (retrying while the broker is unavailable) and join the group."""

        def failed(exc: BaseException, attempt: int, delay: float) -> None:
            self.metrics.broker_errors.labels("connect").inc()
            self.log.warning(
                "broker_connect_failed",
                error=repr(exc),
                attempt=attempt,
                retry_in_s=round(delay, 2),
            )

        await retry_forever(self.producer.start, retry_on=(KafkaError, OSError), on_error=failed)
        await retry_forever(self.consumer.start, retry_on=(KafkaError, OSError), on_error=failed)
        self.consumer.subscribe([self.s.topics.telemetry], listener=DelegatingListener(self))
        self._set_broker(True)
        gc_thresholds = tune_for_batches(self.s.gc_threshold)
        self.log.info(
            "worker_started",
            topic=self.s.topics.telemetry,
            clock=self.s.clock,
            record_path="lean" if self.lean else "stock",
            detectors=detectors.build(),
            gc_thresholds=list(gc_thresholds),
        )

    async def stop(self) -> None:
        """Flush, commit and leave the group."""
        self.stopping.set()
        self.metrics.ready.set(0)
        try:
            await asyncio.wait_for(self._drain_inflight(), timeout=15)
        except (TimeoutError, KafkaError) as exc:
            self.log.warning("last_commit_failed", error=repr(exc))
        try:
            await asyncio.wait_for(self.consumer.stop(), timeout=15)
        except (TimeoutError, KafkaError) as exc:
            self.log.warning("consumer_stop_failed", error=repr(exc))
        try:
            await asyncio.wait_for(self.producer.stop(), timeout=15)
        except (TimeoutError, KafkaError) as exc:
            self.log.warning("producer_stop_failed", error=repr(exc))
        self.log.info("worker_stopped", processed=self.processed, batches=self.batches)

    async def run(self, stop: asyncio.Event) -> None:
        """Start, process batches until `stop` is set, then stop cleanly."""
        await self.start()
        tasks: list[asyncio.Task[None]] = [asyncio.create_task(b()) for b in self.background]
        tasks.append(asyncio.create_task(self._health_loop(stop)))
        try:
            while not stop.is_set():
                await self.step()
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.stop()

    # -- rebalancing -----------------------------------------------------------------

    async def on_revoked(self, revoked: list[TopicPartition]) -> None:
        """Wait for the batch in flight (produced and committed), then drop those partitions."""
        self.metrics.rebalances.labels("revoked").inc()
        async with self.lock:
            mine = [tp.partition for tp in revoked if tp.topic == self.s.topics.telemetry]
            self.owned.difference_update(mine)
            outs: list[Out] = []
            for p in mine:
                proc = self.processors.pop(p, None)
                if proc is not None:
                    outs.extend(proc.drain())
            if outs:
                await self.sender.send_all(outs)
            await self._drain_inflight()
            await self._commit({p: o for p, o in self.uncommitted.items() if p in mine})
            for p in mine:
                self.next_offsets.pop(p, None)
                self.uncommitted.pop(p, None)
                self.max_stamp.pop(p, None)
            if mine:  # a group's first assignment revokes nothing: no line for it
                self.log.info("partitions_revoked", partitions=sorted(mine))

    async def on_assigned(self, assigned: list[TopicPartition]) -> None:
        """Restore the state of newly assigned partitions before any of their records."""
        self.metrics.rebalances.labels("assigned").inc()
        parts = sorted(tp.partition for tp in assigned if tp.topic == self.s.topics.telemetry)
        async with self.lock:
            self.owned.update(parts)
            try:
                await self._ensure_processors(parts)
            except (KafkaError, OSError, TimeoutError) as exc:
                # The main loop retries before it processes any record of these partitions.
                self.log.warning("restore_deferred", partitions=parts, error=repr(exc))
        self.assigned_once.set()
        self.metrics.ready.set(1 if self.ready else 0)
        self.log.info("partitions_assigned", partitions=parts)

    async def _ensure_processors(self, partitions: Iterable[int]) -> None:
        missing = [p for p in partitions if p not in self.processors]
        if not missing:
            return
        t0 = time.monotonic()
        states = await self.store.restore(missing)
        topic = self.s.topics.telemetry
        known = self.consumer.partitions_for_topic(topic)
        sources = len(known) if known else self.s.telemetry_partitions
        for p in missing:
            proc = self.factory(p)
            proc.restore(states[p])
            proc.sources = sources
            tp = TopicPartition(topic, p)
            committed = await self.consumer.committed(tp)
            proc.resume_offset = committed or 0
            if committed is not None and proc.restart_from < committed:
                # Rebuild the live sessions' state: re-read from the oldest one's start.
                # Records fetched before this seek (from the committed offset) are stale.
                self.consumer.seek(tp, proc.restart_from)
                self.expect[p] = proc.restart_from
            else:
                self.expect.pop(p, None)
            self.processors[p] = proc
            self.log.info(
                "partition_restored",
                partition=p,
                committed=committed,
                rebuild_from=proc.restart_from,
                acknowledged_ids=len(states[p]),
            )
        self.log.info(
            "state_restored",
            partitions=missing,
            keys=sum(len(s) for s in states.values()),
            seconds=round(time.monotonic() - t0, 3),
        )

    # -- the loop --------------------------------------------------------------------

    async def step(self) -> int:
        """One batch: fetch, decode, detect, produce, await acks, commit. Returns records."""
        try:
            batch = await self.consumer.getmany(
                timeout_ms=self.s.poll_ms, max_records=self.s.max_batch
            )
        except KafkaError as exc:
            self.metrics.broker_errors.labels("fetch").inc()
            self._set_broker(False)
            self.log.warning("fetch_failed", error=repr(exc))
            await asyncio.sleep(0.5)
            return 0
        arrival_ms = int(self.clock() * 1000)
        if batch and self.s.fetch_handoff:
            await hand_off_to_fetcher()
        async with self.lock:
            return await self._process(batch, arrival_ms)

    async def _process(self, batch: dict[TopicPartition, list[Any]], arrival_ms: int) -> int:
        outs: list[Out] = []
        offsets: dict[int, int] = {}
        n = 0
        owned = self.owned
        wanted = [tp.partition for tp in batch if tp.partition in owned]
        if wanted:
            await retry_forever(
                lambda: self._ensure_processors(wanted),
                retry_on=(KafkaError, OSError, TimeoutError),
                on_error=self._restore_error,
            )
        for tp, records in batch.items():
            if not records or tp.partition not in owned:
                continue  # revoked while fetched: the new owner reads them again
            records = self._fresh(tp.partition, records)
            if not records:
                continue
            offsets[tp.partition] = records[-1].offset + 1
            n += len(records)
            self.metrics.batch_size.observe(len(records))
            proc = self.processors[tp.partition]
            raws = [r.value for r in records]
            decoded = self.decoder.decode_batch(raws)
            proc.bound_times(decoded, [r.timestamp for r in records], raws)
            bad = [i for i, item in enumerate(decoded) if item.__class__ is BadRecord]
            if bad:
                outs.extend(self._dead_letters(tp, records, decoded, bad, proc.resume_offset))
                skip = set(bad)
                records = [r for i, r in enumerate(records) if i not in skip]
                decoded = [e for i, e in enumerate(decoded) if i not in skip]
            if records:
                events: list[Event] = decoded  # type: ignore[assignment]
                self._count_events(events)
                proc.feed_records(events, records)
                stamp = records[-1].timestamp
                if stamp > self.max_stamp.get(tp.partition, 0):
                    self.max_stamp[tp.partition] = stamp
        for p, proc in self.processors.items():
            proc.advance(self._clock_of(p, arrival_ms))
            outs.extend(proc.drain())
        if outs or offsets:
            # The next batch is processed while this one's records are acked; its
            # offsets are committed only after those acks (and after earlier batches).
            acked = await self.sender.start(outs)
            self.uncommitted.update(offsets)
            previous = self._inflight[-1] if self._inflight else None
            self._inflight.append(asyncio.create_task(self._settle(acked, offsets, previous)))
            while len(self._inflight) > MAX_INFLIGHT_BATCHES:
                await self._inflight.popleft()
        if offsets:
            self.log.debug(
                "batch_done",
                offsets={p: [b[0].offset, b[-1].offset] for p, b in _by_partition(batch).items()},
                outputs=len(outs),
            )
            self.next_offsets.update(offsets)
            self._update_lag(offsets)
        self.processed += n
        if n:
            self.batches += 1
        return n

    def _fresh(self, partition: int, records: list[Any]) -> list[Any]:
        """Drop records fetched from the committed offset before a rebuild's seek took effect."""
        expect = self.expect.get(partition)
        if expect is not None:
            if records[0].offset != expect:
                return []
            del self.expect[partition]
        return records

    def _clock_of(self, partition: int, wall_ms: int) -> int | None:
        """Event-time clock of a partition: None in event mode (the events' own time);
        live, the wall clock minus lateness once caught up, else the newest record's time."""
        if self.s.clock != "wall":
            return None
        tp = TopicPartition(self.s.topics.telemetry, partition)
        high = self.consumer.highwater(tp)
        nxt = self.next_offsets.get(partition)
        if high is None or nxt is None or nxt >= high:
            return wall_ms - self.lateness_ms
        return self.max_stamp.get(partition, wall_ms - self.lateness_ms)

    def _count_events(self, events: list[Event]) -> None:
        for t, c in Counter(map(type, events)).items():
            self.metrics.events.labels(t.__name__.lower()).inc(c)

    def _dead_letters(
        self,
        tp: TopicPartition,
        records: list[Any],
        decoded: list[Event | BadRecord],
        bad: list[int],
        resume: int,
    ) -> list[Out]:
        """DLQ records for the bad ones (not again for those before the last commit)."""
        out = []
        for i in bad:
            item, rec = decoded[i], records[i]
            if isinstance(item, BadRecord) and rec.offset >= resume:
                out.append(self._dead_letter(item, tp, rec.offset, rec.key))
        return out

    def _dead_letter(self, bad: BadRecord, tp: TopicPartition, offset: int,
                     key: bytes | None) -> Out:
        """The bad record as received (its key and bytes), its reason in the headers."""
        reason = bad.reason
        self.metrics.bad_records.labels(reason).inc()
        self.log.info("bad_record", reason=reason, partition=tp.partition, offset=offset)
        return Out(
            topic=self.s.topics.dlq,
            value=bad.raw,
            key=key,
            headers=dlq_headers(bad, tp.topic, tp.partition, offset),
        )

    def _restore_error(self, exc: BaseException, attempt: int, delay: float) -> None:
        self.metrics.broker_errors.labels("restore").inc()
        self._set_broker(False)
        self.log.warning("restore_failed_retrying", error=repr(exc), retry_in_s=round(delay, 2))

    async def _settle(
        self,
        acked: Callable[[], Awaitable[None]],
        offsets: dict[int, int],
        previous: asyncio.Task[None] | None,
    ) -> None:
        """Wait for a batch's acks, then (after the batches before it) commit its offsets."""
        await acked()
        if previous is not None and not previous.done():
            await asyncio.shield(previous)
        await self._commit(offsets)

    async def _drain_inflight(self) -> None:
        """Wait until every batch handed to the producer is acked and committed."""
        while self._inflight:
            await self._inflight.popleft()

    async def _commit(self, offsets: dict[int, int]) -> None:
        if not offsets:
            return
        topic = self.s.topics.telemetry
        tps = {TopicPartition(topic, p): o for p, o in offsets.items()}
        backoff = Backoff(cap=2.0)
        for attempt in range(1, 6):
            try:
                await self.consumer.commit(tps)
            except (CommitFailedError, IllegalStateError) as exc:
                # The group moved on; the new owner resumes from the last commit.
                self.log.warning("commit_rejected", error=repr(exc), partitions=sorted(offsets))
                return
            except KafkaError as exc:
                self.metrics.broker_errors.labels("commit").inc()
                self._set_broker(False)
                delay = backoff.next_delay()
                self.log.warning(
                    "commit_failed_retrying", error=repr(exc), attempt=attempt, retry_in_s=delay
                )
                await asyncio.sleep(delay)
            else:
                for p, o in offsets.items():
                    if self.uncommitted.get(p) == o:
                        del self.uncommitted[p]
                self._set_broker(True)
                return
        # Not committing is safe (at-least-once): a later commit covers these offsets.
        self.log.warning("commit_skipped", partitions=sorted(offsets))

    def _update_lag(self, offsets: dict[int, int]) -> None:
        topic = self.s.topics.telemetry
        for p, nxt in offsets.items():
            high = self.consumer.highwater(TopicPartition(topic, p))
            if high is not None:
                self.metrics.consumer_lag.labels(topic, str(p)).set(max(0, high - nxt))

    async def _health_loop(self, stop: asyncio.Event) -> None:
        await broker_health_loop(self, stop)


def _by_partition(batch: dict[TopicPartition, list[Any]]) -> dict[int, list[Any]]:
    return {tp.partition: recs for tp, recs in batch.items() if recs}
