"""Line verdicts seen by every worker: line incidents and how far the correlators got."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from detectors.config import DetectionConfig
from detectors.line_pressure import LinePressure
from detectors.records import Incident, decode_record
from monitor.platform.logging import get_logger
from monitor.streaming.wire import (
    LINE_START,
    VERDICT,
    WATERMARK,
    decode_line_start,
    decode_watermark,
    kind_of,
    time_of,
)

NO_TIME = -(1 << 62)


@dataclass(slots=True)
class VerdictBoard:
    """All line incidents so far, in arrival order, the line pressure and the watermark."""

    history: list[tuple[int, Incident]] = field(default_factory=list)
    marks: dict[int, int] = field(default_factory=dict)
    sources: int = 0
    pressure: LinePressure = field(default_factory=lambda: LinePressure(DetectionConfig()))

    def add_verdict(self, t: int, incident: Incident) -> None:
        """A line incident decided at event time `t`."""
        self.history.append((t, incident))

    def add_mark(self, src: int, sources: int, t: int) -> None:
        """Correlator partition `src` of `sources` has published everything up to `t`."""
        self.sources = max(self.sources, sources)
        if t > self.marks.get(src, NO_TIME):
            self.marks[src] = t

    def watermark(self) -> int:
        """Event time up to which every correlator partition has published its verdicts."""
        if not self.sources or len(self.marks) < self.sources:
            return NO_TIME
        return min(self.marks.values())


async def follow_verdicts(
    bootstrap: str, topic: str, board: VerdictBoard, stop: asyncio.Event
) -> None:
    """Read the verdict topic from its beginning into `board` until `stop`."""
    log = get_logger("verdicts", topic=topic)
    while not stop.is_set():
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
        )
        try:
            await consumer.start()
            tp = TopicPartition(topic, 0)
            consumer.assign([tp])
            await consumer.seek_to_beginning(tp)
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=100, max_records=1000)
                for records in batch.values():
                    for r in records:
                        kind = kind_of(r.headers)
                        if kind == WATERMARK:
                            wm = decode_watermark(r.value)
                            board.add_mark(wm.src, wm.sources, wm.t)
                        elif kind == LINE_START:
                            st = decode_line_start(r.value)
                            board.pressure.add(st.key, st.ts, st.session_id, st.detected_at,
                                               st.active)
                        elif kind == VERDICT:
                            inc = decode_record(r.value)
                            if isinstance(inc, Incident):
                                board.add_verdict(time_of(r.headers), inc)
        except KafkaError as exc:
            log.warning("verdict_feed_failed_retrying", error=repr(exc))
            await asyncio.sleep(1.0)
        finally:
            with contextlib.suppress(KafkaError):
                await consumer.stop()
