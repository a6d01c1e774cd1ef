"""The line correlator as its own consumer group over the re-keyed findings topic.

Findings of every session arrive keyed by line, from every worker partition,
interleaved. Each worker partition also sends watermarks; a finding is applied
only once every source has passed its decision time, in decision-time order, so
the verdicts do not depend on how the findings were interleaved. Verdicts go to
`support.incidents` and, with the correlator's own watermark, to the verdict
topic that every worker's outreach policy waits on.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError

from detectors.clock_guard import TS_OUT_OF_RANGE, finding_out_of_range
from detectors.config import DetectionConfig
from detectors.findings import Finding
from detectors.line import LineCorrelator
from detectors.records import Incident, encode
from detectors.telemetry import BadRecord
from monitor.platform.kafka_settings import KafkaSettings
from monitor.platform.logging import get_logger
from monitor.platform.metrics import Metrics
from monitor.streaming.backoff import Backoff, retry_forever
from monitor.streaming.dlq import dlq_headers
from monitor.streaming.health import broker_health_loop
from monitor.streaming.output import Out, Sender, make_producer
from monitor.streaming.rebalance import DelegatingListener
from monitor.streaming.wire import (
    FINDING,
    LINE_START,
    VERDICT,
    WATERMARK,
    ClockMismatch,
    LineStart,
    Watermark,
    decode_watermark,
    encode_line_start,
    encode_watermark,
    for_line,
    kind_of,
    time_headers,
    time_of,
)

NO_TIME: Final = -(1 << 62)
DEDUP_HORIZON_MS: Final = 3 * 3600 * 1000


class LinePartition:
    """Line correlation for one findings partition, driven by the sources' watermarks."""

    def __init__(
        self, partition: int, settings: KafkaSettings, metrics: Metrics, detection: DetectionConfig
    ) -> None:
        self.partition = partition
        self.s = settings
        self.metrics = metrics
        self.detection = detection
        self.correlator = LineCorrelator(detection, self._incident)
        self.marks: dict[int, int] = {}
        self.sources = 0  # telemetry partitions, as the workers' watermarks say
        self.buffer: list[tuple[int, int, int, Finding]] = []
        self.seen: dict[Finding, int] = {}
        self.released_to = NO_TIME
        self.published = NO_TIME
        self.outs: list[Out] = []
        self.live = True
        self.resume_offset = 0
        self.expect: int | None = None  # first offset to accept after the rebuild's seek
        self._seq = itertools.count()
        self._now = NO_TIME
        self._pruned_at = NO_TIME
        self._dead_through = -1  # the last offset dead-lettered

    def take(self, record: Any) -> None:
        """One record of the findings partition: a finding or a source watermark."""
        self.live = record.offset >= self.resume_offset
        kind = kind_of(record.headers)
        if kind == WATERMARK:
            wm = decode_watermark(record.value)
            if self.live and wm.clock and wm.clock != self.s.clock:
                raise ClockMismatch(self.s.clock, wm.clock, wm.src)
            if wm.t > record.timestamp + self.detection.max_ahead_ms:
                self._out_of_range(record, f"watermark {wm.t} ahead of its record time")
                return
            self.sources = max(self.sources, wm.sources)
            if wm.t > self.marks.get(wm.src, NO_TIME):
                self.marks[wm.src] = wm.t
        elif kind == FINDING and record.key is not None:
            f = for_line(Finding.from_bytes(record.value), record.key.decode())
            if f in self.seen:
                return  # a rebuilt worker partition sent it again
            t = time_of(record.headers)
            if finding_out_of_range(f, t, record.timestamp, self.detection):
                self._out_of_range(record, f"finding at {f.ts} stamped {t}")
                return
            self.seen[f] = t
            heapq.heappush(self.buffer, (t, max(f.ts, f.detected_at), next(self._seq), f))

    def watermark(self) -> int:
        """Event time every source has passed (NO_TIME until all have reported)."""
        if not self.sources or len(self.marks) < self.sources:
            return NO_TIME
        return min(self.marks.values())

    def release(self) -> None:
        """Apply every finding decided up to the watermark, then advance and publish."""
        wm = self.watermark()
        if wm == NO_TIME:
            return
        buf = self.buffer
        corr = self.correlator
        while buf and buf[0][0] <= wm:
            t, _, _, f = heapq.heappop(buf)
            self._now = t
            if corr.next_due() <= t:
                corr.advance(t)  # close what was due before this finding (as replay does)
            corr.feed(f)
            if f.kind == "episode_start" and self.live:
                self._line_start(t, f)
        if wm > self.released_to:
            self._now = wm
            self.correlator.advance(wm)
            self.released_to = wm
        if wm > self.published and self.live:
            self.published = wm
            mark = Watermark(self.partition, self.s.findings_partitions, wm, self.s.clock)
            value = encode_watermark(mark)
            self.outs.append(
                Out(self.s.topics.verdicts, value, partition=0, headers=time_headers(WATERMARK, wm))
            )
        if wm - self._pruned_at > 60_000:
            self._pruned_at = wm
            horizon = wm - DEDUP_HORIZON_MS
            self.seen = {f: t for f, t in self.seen.items() if t >= horizon}

    def _line_start(self, t: int, f: Finding) -> None:
        """Tell the workers' policies (line pressure) that a session's trouble began."""
        key = f.line_keys[0]
        size = self.correlator.active_sessions(key)
        value = encode_line_start(LineStart(key, f.ts, f.session_id, f.detected_at, size))
        self.outs.append(
            Out(self.s.topics.verdicts, value, key=key.encode(), partition=0,
                headers=time_headers(LINE_START, t))
        )

    def drain(self) -> list[Out]:
        """Records produced since the last drain."""
        outs, self.outs = self.outs, []
        return outs

    def _out_of_range(self, record: Any, detail: str) -> None:
        """A finding or watermark whose time no clock may believe: dead-letter and count it."""
        if not self.live or record.offset <= self._dead_through:
            return  # dead-lettered already (by this partition's previous owner, or a re-read)
        self._dead_through = record.offset
        self.metrics.bad_records.labels(TS_OUT_OF_RANGE).inc()
        bad = BadRecord(TS_OUT_OF_RANGE, detail, record.value)
        headers = dlq_headers(bad, self.s.topics.findings, self.partition, record.offset)
        self.outs.append(Out(self.s.topics.dlq, record.value, key=record.key, headers=headers))

    def _incident(self, inc: Incident) -> None:
        if not self.live:
            return  # produced before the last commit, by this partition's previous owner
        value = encode(inc)
        key = inc.key.encode()
        self.outs.append(
            Out(
                self.s.topics.incidents,
                value,
                key=key,
                on_ack=lambda: self.metrics.incidents.labels(inc.kind, inc.state).inc(),
            )
        )
        self.outs.append(
            Out(
                self.s.topics.verdicts,
                value,
                key=key,
                partition=0,
                headers=time_headers(VERDICT, max(self._verdict_time(), inc.detected_at)),
            )
        )


    def _verdict_time(self) -> int:
        """The event time a verdict stands for: now, or a coalesced update's own time."""
        flushed = self.correlator.flush_at
        return self._now if flushed is None else flushed


class CorrelatorWorker:
    """Consumer-group member on the findings topic; rebuilds a partition from its start."""

    def __init__(
        self,
        settings: KafkaSettings,
        metrics: Metrics,
        detection: DetectionConfig | None = None,
    ) -> None:
        self.s = settings
        self.metrics = metrics
        self.detection = detection or DetectionConfig()
        self.log = get_logger("correlator", group=settings.correlator_group)
        self.parts: dict[int, LinePartition] = {}
        self.lock = asyncio.Lock()
        self.broker_ok = False
        self.assigned_once = asyncio.Event()
        self.exit_code = 0  # 2: refused to run (a worker on another clock)
        self.producer = make_producer(settings.bootstrap, settings.client_id + "-correlator")
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.bootstrap,
            group_id=settings.correlator_group,
            client_id=settings.client_id + "-correlator",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=10_000,
            heartbeat_interval_ms=1_000,
        )
        self.sender = Sender(self.producer, self._send_error, lambda: self._set_broker(True))

    @property
    def ready(self) -> bool:
        """True when connected and owning partitions."""
        return self.broker_ok and self.assigned_once.is_set()

    def _set_broker(self, ok: bool) -> None:
        if ok != self.broker_ok:
            self.log.info("broker_reachable" if ok else "broker_unreachable")
        self.broker_ok = ok
        self.metrics.ready.set(1 if self.ready else 0)

    def _send_error(self, exc: BaseException, count: int, delay: float) -> None:
        self.metrics.broker_errors.labels("produce").inc()
        self._set_broker(False)
        self.log.warning(
            "produce_failed_retrying", error=repr(exc), records=count, retry_in_s=delay
        )

    async def on_revoked(self, revoked: list[TopicPartition]) -> None:
        """Flush and forget revoked partitions (their next owner rebuilds them)."""
        self.metrics.rebalances.labels("revoked").inc()
        async with self.lock:
            for tp in revoked:
                part = self.parts.pop(tp.partition, None)
                if part is not None:
                    await self.sender.send_all(part.drain())
        if revoked:  # a group's first assignment revokes nothing: no line for it
            self.log.info("partitions_revoked", partitions=sorted(tp.partition for tp in revoked))

    async def on_assigned(self, assigned: list[TopicPartition]) -> None:
        """Rebuild new partitions from the topic's start, silently up to the commit."""
        self.metrics.rebalances.labels("assigned").inc()
        async with self.lock:
            for tp in assigned:
                if tp.partition in self.parts:
                    continue
                part = LinePartition(tp.partition, self.s, self.metrics, self.detection)
                try:
                    committed = await self.consumer.committed(tp)
                except KafkaError:
                    committed = None
                part.resume_offset = committed or 0
                first = (await self.consumer.beginning_offsets([tp])).get(tp, 0)
                part.expect = first  # records fetched from the commit before the seek are stale
                self.parts[tp.partition] = part
                await self.consumer.seek_to_beginning(tp)
        self.assigned_once.set()
        self._set_broker(True)
        self.log.info("partitions_assigned", partitions=sorted(tp.partition for tp in assigned))

    async def run(self, stop: asyncio.Event) -> None:
        """Consume findings until `stop`, committing after each batch's outputs are acked."""

        def failed(exc: BaseException, attempt: int, delay: float) -> None:
            self.metrics.broker_errors.labels("connect").inc()
            self.log.warning("broker_connect_failed", error=repr(exc), retry_in_s=delay)

        await retry_forever(self.producer.start, retry_on=(KafkaError, OSError), on_error=failed)
        await retry_forever(self.consumer.start, retry_on=(KafkaError, OSError), on_error=failed)
        self.consumer.subscribe([self.s.topics.findings], listener=DelegatingListener(self))
        self.log.info("correlator_started", topic=self.s.topics.findings)
        health = asyncio.create_task(self._health_loop(stop))
        try:
            while not stop.is_set():
                await self.step()
        except ClockMismatch as exc:
            self.exit_code = 2
            self.log.error("clock_mismatch", reason="clock_mismatch", clock=exc.mine,
                           source_clock=exc.theirs, source=exc.src,
                           fix="give the workers and the correlator the same --clock")
        finally:
            health.cancel()
            await asyncio.gather(health, return_exceptions=True)
            for client in (self.consumer, self.producer):
                try:
                    await asyncio.wait_for(client.stop(), timeout=15)
                except (TimeoutError, KafkaError) as exc:
                    self.log.warning("stop_failed", error=repr(exc))
            self.log.info("correlator_stopped", partitions=sorted(self.parts))

    async def step(self) -> int:
        """One batch of findings and watermarks."""
        try:
            batch = await self.consumer.getmany(timeout_ms=self.s.poll_ms, max_records=10_000)
        except KafkaError as exc:
            self.metrics.broker_errors.labels("fetch").inc()
            self._set_broker(False)
            self.log.warning("fetch_failed", error=repr(exc))
            await asyncio.sleep(0.5)
            return 0
        n = 0
        async with self.lock:
            offsets: dict[TopicPartition, int] = {}
            for tp, records in batch.items():
                part = self.parts.get(tp.partition)
                if part is None or not records:
                    continue
                if part.expect is not None:
                    if records[0].offset != part.expect:
                        continue
                    part.expect = None
                for r in records:
                    part.take(r)
                part.release()
                offsets[tp] = records[-1].offset + 1
                n += len(records)
                self.metrics.batch_size.observe(len(records))
            outs = [o for part in self.parts.values() for o in part.drain()]
            if outs:
                await self.sender.send_all(outs)
            if offsets:
                await self._commit(offsets)
        return n

    async def _health_loop(self, stop: asyncio.Event) -> None:
        await broker_health_loop(self, stop)

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        backoff = Backoff(cap=2.0)
        for _ in range(5):
            try:
                await self.consumer.commit(offsets)
            except (CommitFailedError, IllegalStateError) as exc:
                self.log.warning("commit_rejected", error=repr(exc))
                return
            except KafkaError as exc:
                self.metrics.broker_errors.labels("commit").inc()
                self._set_broker(False)
                delay = backoff.next_delay()
                self.log.warning("commit_failed_retrying", error=repr(exc), retry_in_s=delay)
                await asyncio.sleep(delay)
            else:
                self._set_broker(True)
                return
