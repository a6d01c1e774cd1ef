"""Decoding telemetry: every bad record gets a reason code; nothing raises."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detectors.telemetry import REASONS, BadRecord, Join, Stats, TelemetryDecoder

GOOD_STATS: dict[str, Any] = {
    "v": 1, "type": "stats", "ts": 1_700_000_000_000, "session_id": "s1", "student_id": "u1",
    "classroom_id": "c1", "interval_ms": 2000, "rtt_ms": 50, "jitter_ms": 3.5, "loss_pct": 0.2,
    "recv_kbps": 900, "fps": 25, "freeze_ms": 0, "audio_stall_ms": 0,
}
GOOD_JOIN: dict[str, Any] = {
    "v": 1, "type": "join", "ts": 1_700_000_000_000, "session_id": "s1", "student_id": "u1",
    "classroom_id": "c1", "client": {"app_version": "5.1", "os": "ios", "device": "ipad"},
    "network": {"conn": "wifi", "isp": "CT", "region": "sh", "edge": "edge-3"},
}


def raw(base: dict[str, Any], **changes: Any) -> bytes:
    obj = dict(base)
    for k, v in changes.items():
        if v is ...:
            obj.pop(k, None)
        else:
            obj[k] = v
    return orjson.dumps(obj)


DEC = TelemetryDecoder()


def reason(data: bytes) -> str:
    out = DEC.decode(data)
    assert isinstance(out, BadRecord), out
    assert out.raw == data  # the original bytes are kept unchanged
    return out.reason


def test_good_records_decode_to_typed_events_and_extra_fields_are_ignored() -> None:
    assert isinstance(DEC.decode(raw(GOOD_STATS)), Stats)
    assert isinstance(DEC.decode(raw(GOOD_JOIN, lesson={"scheduled_start": 1_700_000_000_000,
                                                        "scheduled_end": 1_700_003_600_000})),
                      Join)
    assert isinstance(DEC.decode(raw(GOOD_STATS, future_field={"x": 1})), Stats)


@pytest.mark.parametrize(("data", "expected"), [
    (b"{not json", "not_json"),
    (b"", "not_json"),
    (b"\xff\xfe", "not_json"),
    (b"[1, 2]", "not_object"),
    (b"42", "not_object"),
    (raw(GOOD_STATS, v=2), "unknown_version"),
    (raw(GOOD_STATS, v="1"), "unknown_version"),
    (raw(GOOD_STATS, type="video"), "unknown_type"),
    (raw(GOOD_STATS, type=...), "missing_field"),
    (raw(GOOD_STATS, fps=...), "missing_field"),
    (raw(GOOD_JOIN, network=...), "missing_field"),
    (raw(GOOD_STATS, session_id=...), "missing_id"),
    (raw(GOOD_STATS, classroom_id=...), "missing_id"),
    (raw(GOOD_STATS, session_id=""), "bad_id"),
    (raw(GOOD_STATS, student_id="x" * 129), "bad_id"),
    (raw(GOOD_STATS, ts="yesterday"), "wrong_type"),
    (raw(GOOD_STATS, rtt_ms="fast"), "wrong_type"),
    (raw(GOOD_STATS, session_id=17), "wrong_type"),
    (raw(GOOD_STATS, rtt_ms=-1), "out_of_range"),
    (raw(GOOD_STATS, loss_pct=140), "out_of_range"),
    (raw(GOOD_STATS, fps=100_000), "out_of_range"),
    (raw(GOOD_STATS, ts=12), "out_of_range"),
    (raw(GOOD_STATS, interval_ms=0), "out_of_range"),
    (raw(GOOD_JOIN, client={"app_version": "5", "os": "x", "device": "toaster"}), "bad_value"),
    (raw(GOOD_STATS, bogus="x" * 20_000), "oversized"),
])
def test_each_kind_of_bad_record_has_its_reason(data: bytes, expected: str) -> None:
    assert expected in REASONS
    assert reason(data) == expected


def test_a_batch_with_one_bad_record_keeps_the_good_ones() -> None:
    batch = [raw(GOOD_STATS, ts=1_700_000_000_000 + k) for k in range(5)]
    batch[2] = b'{"v": 1, "type": "stats"'
    out = DEC.decode_batch(batch)
    assert [type(x).__name__ for x in out] == ["Stats", "Stats", "BadRecord", "Stats", "Stats"]


def test_a_record_that_smuggles_two_objects_cannot_shift_the_batch() -> None:
    good = raw(GOOD_STATS)
    smuggler = good + b"," + good
    out = DEC.decode_batch([good, smuggler, good])
    assert len(out) == 3 and isinstance(out[1], BadRecord)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_decoding_never_raises_on_arbitrary_bytes(data: bytes) -> None:
    out = DEC.decode(data)
    assert isinstance(out, BadRecord | Stats | Join) or hasattr(out, "ts")


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(list(GOOD_STATS)),
                       st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1),
                                 st.floats(allow_nan=False),
                                 st.text(max_size=5), st.booleans())))
def test_mangled_stats_are_either_events_or_bad_records_with_a_known_reason(
    changes: dict[str, Any]
) -> None:
    out = DEC.decode(raw(GOOD_STATS, **changes))
    if isinstance(out, BadRecord):
        assert out.reason in REASONS


def deep(levels: int) -> bytes:
    """A good stats record with an extra field nested `levels` deep (2 KB for 1,000)."""
    return raw(GOOD_STATS)[:-1] + b',"x":' + b"[" * levels + b"]" * levels + b"}"


def test_deeply_nested_json_is_a_bad_record_not_a_crash() -> None:
    assert len(deep(1000)) < DEC.max_message_bytes
    assert reason(deep(1000)) == "too_deep"
    out = DEC.decode_batch([raw(GOOD_STATS), deep(1000), raw(GOOD_JOIN)])
    assert [type(o).__name__ for o in out] == ["Stats", "BadRecord", "Join"]
    assert isinstance(out[1], BadRecord) and out[1].reason == "too_deep"


def test_each_line_stands_alone_in_a_batch() -> None:
    good = raw(GOOD_STATS)
    joined = good + b"," + good  # two objects on one line is one bad line, not two events
    truncated, fragment = good[:-1], b'"x":1}'  # a record cut in two is two bad lines
    out = DEC.decode_batch([joined, truncated, fragment, good])
    assert [o.reason if isinstance(o, BadRecord) else "ok" for o in out] == [
        "not_json", "not_json", "not_object", "ok"]
    assert [o.raw for o in out if isinstance(o, BadRecord)] == [joined, truncated, fragment]


def test_a_record_holding_a_newline_decodes_as_itself() -> None:
    pretty = orjson.dumps(GOOD_STATS, option=orjson.OPT_INDENT_2)
    out = DEC.decode_batch([pretty, raw(GOOD_JOIN)])
    assert [type(o).__name__ for o in out] == ["Stats", "Join"]


PIECES = st.sampled_from([
    raw(GOOD_STATS), raw(GOOD_JOIN), b"", b" ", b"{", b"}", b",", b"[", b"]", b"\n",
    raw(GOOD_STATS)[:30], raw(GOOD_STATS)[30:], raw(GOOD_STATS)[:-1], b'"x":1}', b'{"v":1}',
    b"null", b"\xff", deep(300),
])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(PIECES, min_size=1, max_size=3).map(b"".join), max_size=12))
def test_a_batch_decodes_exactly_as_its_records_one_by_one(raws: list[bytes]) -> None:
    # Line k's bytes only make output k: comma-joined, cut and glued lines change nothing.
    assert DEC.decode_batch(raws) == [DEC.decode(r) for r in raws]


def test_a_blank_record_cannot_lend_its_place_to_a_second_object_on_another_line() -> None:
    # Found by hypothesis: [b"", b"{A}{B}"] joined as JSON Lines gives two events for two
    # records, but record 2's bytes are not one event and record 1 is not an event at all.
    one = (b'{"v":1,"type":"stats","ts":1700000000000,"session_id":"s1","student_id":"u1",'
           b'"classroom_id":"c1","interval_ms":2000,"rtt_ms":50,"jitter_ms":3.5,'
           b'"loss_pct":0.2,"recv_kbps":900,"fps":25,"freeze_ms":0,"audio_stall_ms":0}')
    decoder = TelemetryDecoder()
    for raws in ([b"", one + one], [b"  ", one + one, one]):
        got = decoder.decode_batch(raws)
        assert got == [decoder.decode(r) for r in raws]
        assert isinstance(got[1], BadRecord)


def test_an_object_cut_across_two_records_cannot_borrow_a_count_from_a_third() -> None:
    # The JSON stream parser reads a value across lines: ["{..,", "..}", "{A}{B}"] would make
    # three values for three records, none of them record k's own.
    one = (b'{"v":1,"type":"stats","ts":1700000000000,"session_id":"s1","student_id":"u1",'
           b'"classroom_id":"c1","interval_ms":2000,"rtt_ms":50,"jitter_ms":3.5,'
           b'"loss_pct":0.2,"recv_kbps":900,"fps":25,"freeze_ms":0,"audio_stall_ms":0}')
    cut = one.index(b',"classroom_id"') + 1
    decoder = TelemetryDecoder()
    raws = [one[:cut], one[cut:], one + one, one]
    got = decoder.decode_batch(raws)
    assert got == [decoder.decode(r) for r in raws]
    assert [type(e) for e in got] == [BadRecord, BadRecord, BadRecord, Stats]
