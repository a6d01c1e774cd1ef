"""`firstcall replay`: a recorded day in, contract records and a summary out."""

from __future__ import annotations

import base64
import gzip
import subprocess
import sys
from pathlib import Path

import msgspec
import orjson
import pytest

from detectors.telemetry import Event
from monitor.cli import main
from monitor.streaming.assembly import replay_records
from tests.support.factory import T0, disconnect, heartbeat, join, stats, steady


def day() -> list[Event]:
    """One session lagging for 20 s, one dropping out for good, and a metronome."""
    events: list[Event] = [join("lagger", T0), join("dropper", T0, room="c2"),
                           join("metro", T0, room="c3")]
    events += steady("lagger", T0 + 2000, T0 + 90_000, bad_from=T0 + 20_000, bad_to=T0 + 40_000)
    events += [stats("dropper", T0 + 2000, room="c2"), disconnect("dropper", T0 + 5000, room="c2")]
    events += [heartbeat("metro", t, room="c3") for t in range(T0 + 1000, T0 + 90_001, 1000)]
    return sorted(events, key=lambda e: e.ts)


def write(path: Path, events: list[Event], extra: list[bytes] = ()) -> Path:  # type: ignore[assignment]
    lines = [msgspec.json.encode(e) for e in events] + list(extra)
    data = b"\n".join(lines) + b"\n"
    if path.suffix == ".gz":
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def records(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(x) for x in path.read_bytes().splitlines() if x.strip()]


def test_replay_writes_incidents_and_outreach_per_the_contract(tmp_path: Path) -> None:
    src = write(tmp_path / "day.jsonl", day())
    out = tmp_path / "out.jsonl"
    assert main(["replay", str(src), "--out", str(out), "--quiet"]) == 0
    recs = records(out)
    kinds = [(r["record"], r.get("kind") or r.get("action"), r.get("state") or r.get("reason"))
             for r in recs]
    assert ("incident", "lag", "open") in kinds
    assert ("incident", "lag", "closed") in kinds
    assert ("incident", "disconnect", "open") in kinds
    assert ("outreach", "chat", "lag") in kinds
    assert ("outreach", "call", "disconnect") in kinds
    inc = next(r for r in recs if r["record"] == "incident")
    assert set(inc) == {"record", "incident_id", "kind", "state", "session_id", "student_id",
                        "classroom_id", "line", "started_at", "detected_at", "ended_at",
                        "evidence"}
    out_rec = next(r for r in recs if r["record"] == "outreach")
    assert set(out_rec) == {"record", "incident_id", "case_id", "session_id", "student_id",
                            "action", "reason", "decided_at"}


def test_the_same_input_gives_the_same_records_every_run(tmp_path: Path) -> None:
    src = write(tmp_path / "day.jsonl", day())
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    main(["replay", str(src), "-o", str(a), "-q"])
    main(["replay", str(src), "-o", str(b), "-q"])
    assert a.read_bytes() == b.read_bytes()


def test_gzip_input_and_the_library_entry_point_agree(tmp_path: Path) -> None:
    src = write(tmp_path / "day.jsonl.gz", day())
    out = tmp_path / "out.jsonl"
    main(["replay", str(src), "-o", str(out), "-q"])
    lines = [msgspec.json.encode(e) for e in day()]
    assert records(out) == [orjson.loads(orjson.dumps(r)) for r in replay_records(lines)]


def test_bad_records_are_counted_by_reason_and_dead_lettered_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = [b"{oops", b'{"v": 9, "type": "stats"}', b"[]"]
    src = write(tmp_path / "day.jsonl", day(), extra=bad)
    dlq = tmp_path / "dlq.jsonl"
    assert main(["replay", str(src), "-o", str(tmp_path / "o.jsonl"),
                 "--dead-letter", str(dlq)]) == 0
    err = capsys.readouterr().err
    assert "bad records: not_json 1, not_object 1, unknown_version 1" in err
    assert "incidents opened: disconnect 1, lag 1" in err
    dead = records(dlq)
    assert sorted(d["reason"] for d in dead) == ["not_json", "not_object", "unknown_version"]
    assert {d["raw"] for d in dead} == {b.decode() for b in bad}


def test_hostile_lines_are_dead_lettered_with_their_exact_bytes_and_the_replay_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nested = b'{"v":1,"type":"heartbeat","x":' + b"[" * 1000 + b"]" * 1000 + b"}"
    not_utf8 = b'{"v":1,"type":"stats","session_id":"\xff\xfe"}'
    src = write(tmp_path / "day.jsonl", day(), extra=[nested, not_utf8])
    dlq = tmp_path / "dlq.jsonl"
    assert main(["replay", str(src), "-o", str(tmp_path / "o.jsonl"),
                 "--dead-letter", str(dlq)]) == 0
    err = capsys.readouterr().err
    good = len(day())
    assert f"{good + 2:,} records" in err and f"{good:,} events, 2 bad" in err
    assert "incidents opened: disconnect 1, lag 1" in err
    dead = {d["reason"]: d for d in records(dlq)}
    assert dead["too_deep"]["raw"].encode() == nested
    assert "raw" not in dead["not_json"]
    assert base64.b64decode(dead["not_json"]["raw_base64"]) == not_utf8


def test_thresholds_can_be_set_from_a_file_env_and_flags(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    src = write(tmp_path / "day.jsonl", day())
    cfg = tmp_path / "firstcall.toml"
    cfg.write_text("[detection]\nmax_rtt_ms = 5000.0\nmax_loss_pct = 50.0\nfreeze_share = 0.9\n"
                   "min_fps = 1.0\n")
    out = tmp_path / "o.jsonl"
    main(["replay", str(src), "-o", str(out), "-q", "--config", str(cfg)])
    assert not [r for r in records(out) if r.get("kind") == "lag"]
    monkeypatch.setenv("FIRSTCALL_MAX_RTT_MS", "400")
    main(["replay", str(src), "-o", str(out), "-q", "--config", str(cfg)])
    assert [r for r in records(out) if r.get("kind") == "lag"]
    main(["replay", str(src), "-o", str(out), "-q", "--config", str(cfg),
          "--set", "max_rtt_ms=6000"])
    assert not [r for r in records(out) if r.get("kind") == "lag"]


def test_an_unknown_setting_is_a_clear_error(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    src = write(tmp_path / "day.jsonl", day())
    assert main(["replay", str(src), "--set", "silence=3"]) == 2
    assert "unknown setting" in capsys.readouterr().err


def test_a_missing_file_is_a_clear_error(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(tmp_path / "nope.jsonl")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_stdin_through_the_installed_command(tmp_path: Path) -> None:
    data = b"\n".join(msgspec.json.encode(e) for e in day()) + b"\n"
    exe = Path(sys.executable).parent / "firstcall"
    proc = subprocess.run([str(exe), "replay", "-", "--progress", "always"], input=data,
                          capture_output=True, check=True, timeout=60)
    assert b'"record":"incident"' in proc.stdout
    assert b"records/s" in proc.stderr


def test_help_explains_the_command() -> None:
    exe = Path(sys.executable).parent / "firstcall"
    proc = subprocess.run([str(exe), "replay", "--help"], capture_output=True, text=True,
                          check=True, timeout=60)
    assert "'-' for stdin" in proc.stdout and "--dead-letter" in proc.stdout
