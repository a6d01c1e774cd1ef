"""The workers' policy waits for the line verdict as replay's does (issue 19, point 1).

The correlator publishes each episode start it applies on the verdict topic; the
workers' verdict board turns them into the line pressure their policy reads.
No broker here: the records the correlator would produce are handed over as read.
Also point 4: the correlator refuses a worker on another clock, and a worker is
ready only once its group assigned it partitions.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from detectors.config import DetectionConfig
from detectors.findings import Finding
from detectors.line_pressure import LinePressure
from detectors.records import Incident, Outreach, incident_id_for
from monitor.platform.metrics import Metrics
from monitor.streaming.correlator import LinePartition
from monitor.streaming.detect import DetectProcessor
from monitor.streaming.output import Out
from monitor.streaming.protocols import NullProcessor
from monitor.streaming.verdicts import VerdictBoard
from monitor.streaming.wire import (
    FINDING,
    LINE_START,
    WATERMARK,
    ClockMismatch,
    Watermark,
    decode_line_start,
    encode_watermark,
    kind_of,
    time_headers,
)
from monitor.streaming.worker import TelemetryWorker
from outreach.decide.decision import PolicyConfig
from tests.support.kafka_helpers import isolated_settings

T0 = 1_795_000_000_000
LINE = {"edge": "e1", "isp": "isp1", "region": "r1"}


def _record(offset: int, kind: bytes, t: int, value: bytes, key: bytes | None) -> SimpleNamespace:
    return SimpleNamespace(offset=offset, headers=time_headers(kind, t), value=value, key=key,
                           timestamp=t)  # the broker stamps it when it arrives


def correlator_outputs(n_sessions: int, on_line: int = 6) -> list[Out]:
    """What a correlator partition publishes for `n_sessions` drops on edge e1 (of `on_line`
    sessions), 1 s apart."""
    s = isolated_settings("unused:9092")
    part = LinePartition(0, s, Metrics.create(), DetectionConfig())
    offset = 0
    for i in range(on_line):
        j = Finding("join", f"s{i}", f"c{i % 3}", "e1", "isp1", "r1", T0 - 60_000, T0 - 60_000)
        part.take(_record(offset, FINDING, T0 - 60_000, j.to_bytes(), b"edge:e1"))
        offset += 1
    for i in range(n_sessions):
        ts = T0 + i * 1000
        f = Finding("episode_start", f"s{i}", f"c{i % 3}", "e1", "isp1", "r1", ts, ts,
                    "disconnect", f"d{i}")
        part.take(_record(offset, FINDING, ts, f.to_bytes(), b"edge:e1"))
        offset += 1
    wm = encode_watermark(Watermark(0, 1, T0 + 60_000))
    part.take(_record(offset, WATERMARK, T0 + 60_000, wm, None))
    part.release()
    return part.drain()


def board_from(outs: list[Out]) -> VerdictBoard:
    """A worker's board after reading the verdict topic."""
    board = VerdictBoard(pressure=LinePressure(DetectionConfig()))
    for o in outs:
        if o.topic.endswith("line-verdicts") and kind_of(o.headers) == LINE_START:
            assert o.value is not None
            st = decode_line_start(o.value)
            board.pressure.add(st.key, st.ts, st.session_id, st.detected_at, st.active)
    return board


def test_the_correlator_publishes_each_episode_start_it_applies() -> None:
    outs = correlator_outputs(4)
    starts = [decode_line_start(o.value) for o in outs
              if kind_of(o.headers) == LINE_START and o.value is not None]
    assert [(st.key, st.session_id, st.ts, st.active) for st in starts] == [
        ("edge:e1", f"s{i}", T0 + i * 1000, 6) for i in range(4)
    ]  # with the line's size, for the policy's share
    assert all(o.partition == 0 for o in outs if kind_of(o.headers) == LINE_START)


def _decide(board: VerdictBoard) -> list[Outreach]:
    s = isolated_settings("unused:9092", clock="event")
    proc = DetectProcessor(0, s, board, Metrics.create(), DetectionConfig(), PolicyConfig())
    decided: list[Outreach] = []
    proc.policy.on_outreach = decided.append
    started = T0 + 4000
    inc = Incident(
        incident_id=incident_id_for("disconnect", "me", started), kind="disconnect",
        state="open", started_at=started, detected_at=started, ended_at=None, line=LINE,
        evidence={},
        session_id="me", student_id="u-me", classroom_id="c1",
    )
    proc.policy.on_incident(inc)
    proc.policy.advance(started + PolicyConfig().hold_off_ms)
    if not decided:
        proc.policy.advance(started + PolicyConfig().hold_off_ms + PolicyConfig().line_wait_ms)
    return decided


def test_a_worker_waits_for_the_line_verdict_when_others_on_the_line_dropped() -> None:
    cfg = PolicyConfig()
    [o] = _decide(board_from(correlator_outputs(cfg.line_suspect_sessions)))
    assert o.decided_at == T0 + 4000 + cfg.hold_off_ms + cfg.line_wait_ms


def test_a_worker_does_not_wait_when_so_few_of_a_big_line_dropped() -> None:
    cfg = PolicyConfig()
    [o] = _decide(board_from(correlator_outputs(cfg.line_suspect_sessions, on_line=100)))
    assert o.decided_at == T0 + 4000 + cfg.hold_off_ms


def test_a_worker_does_not_wait_when_the_line_is_quiet() -> None:
    cfg = PolicyConfig()
    [o] = _decide(board_from(correlator_outputs(1)))
    assert o.decided_at == T0 + 4000 + cfg.hold_off_ms


def test_the_correlator_refuses_a_worker_on_another_clock() -> None:
    s = isolated_settings("unused:9092", clock="wall")
    part = LinePartition(0, s, Metrics.create(), DetectionConfig())
    part.take(_record(0, WATERMARK, T0, encode_watermark(Watermark(0, 2, T0, "wall")), None))
    part.take(_record(1, WATERMARK, T0, encode_watermark(Watermark(1, 2, T0)), None))  # older
    with pytest.raises(ClockMismatch) as refused:
        part.take(_record(2, WATERMARK, T0, encode_watermark(Watermark(1, 2, T0, "event")), None))
    assert (refused.value.mine, refused.value.theirs, refused.value.src) == ("wall", "event", 1)


async def test_a_worker_is_ready_only_once_the_group_assigned_it_partitions() -> None:
    s = isolated_settings("unused:9092", clock="event")
    worker = TelemetryWorker(s, lambda p: NullProcessor(p), Metrics.create())
    worker.broker_ok = True  # connected, but the group has not settled yet
    assert not worker.ready
    await worker.on_assigned([])
    assert worker.ready


def test_a_start_from_a_correlator_that_did_not_send_the_line_size_counts_sessions_only() -> None:
    st = decode_line_start(b'["edge:e1",1000,"s1",2000]')  # as published before the size
    assert (st.key, st.session_id, st.active) == ("edge:e1", "s1", 0)
