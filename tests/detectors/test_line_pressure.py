"""Line pressure: sessions of a line in trouble lately, as known at a decision's time."""

from __future__ import annotations

import random

from detectors.config import DetectionConfig
from detectors.line_pressure import LinePressure, Strain

T0 = 1_700_000_000_000
LINE = {"edge": "e1", "isp": "isp1", "region": "r1"}
CFG = DetectionConfig()
WINDOW = CFG.line_window_ms + CFG.silence_ms


def starts() -> list[tuple[str, int, str, int]]:
    """Four sessions in trouble on edge e1 (one twice), one on another line."""
    return [
        ("edge:e1", T0, "s1", T0 + 1000),
        ("edge:e1", T0 + 2000, "s2", T0 + 12_000),
        ("edge:e1", T0 + 3000, "s3", T0 + 4000),
        ("edge:e1", T0 + 9000, "s1", T0 + 9500),
        ("edge:e1", T0 + 5000, "s4", T0 + 30_000),
        ("edge:e2", T0 + 1000, "s9", T0 + 2000),
    ]


def test_a_start_counts_once_detected_and_each_session_once() -> None:
    p = LinePressure(CFG)
    for key, ts, sid, det in starts():
        p.add(key, ts, sid, det)
    assert p.pressure(LINE, T0) == 0
    assert p.pressure(LINE, T0 + 5000) == 2  # s1, s3 (s2 detected only at +12 s)
    assert p.pressure(LINE, T0 + 12_000) == 3
    assert p.pressure(LINE, T0 + 30_000) == 4
    assert p.pressure({"edge": "e2", "isp": "x", "region": "y"}, T0 + 5000) == 1


def test_old_trouble_falls_out_of_the_window() -> None:
    p = LinePressure(CFG)
    for key, ts, sid, det in starts():
        p.add(key, ts, sid, det)
    assert p.pressure(LINE, T0 + 5000 + WINDOW) == 2  # s4, and s1 again at +9 s
    assert p.pressure(LINE, T0 + 5001 + WINDOW) == 1
    assert p.pressure(LINE, T0 + 9001 + WINDOW) == 0


def test_the_isp_line_counts_too_and_the_worse_line_wins() -> None:
    p = LinePressure(CFG)
    for i in range(4):
        p.add("isp:isp1/r1", T0 + i, f"i{i}", T0 + i)
    p.add("edge:e1", T0, "s1", T0)
    assert p.pressure(LINE, T0 + 10) == 4


def test_the_answer_does_not_depend_on_arrival_order_or_copies() -> None:
    ordered = LinePressure(CFG)
    for key, ts, sid, det in starts():
        ordered.add(key, ts, sid, det)
    rng = random.Random(3)
    for _ in range(20):
        shuffled = starts() * 2  # a rebuilt correlator partition sends some again
        rng.shuffle(shuffled)
        p = LinePressure(CFG)
        for key, ts, sid, det in shuffled:
            p.add(key, ts, sid, det)
        for now in range(T0 - 1000, T0 + 200_000, 1500):
            assert p.pressure(LINE, now) == ordered.pressure(LINE, now)
            assert p.strains(LINE, now) == ordered.strains(LINE, now)


def test_a_strain_names_its_sessions_and_the_line_size_at_the_newest_detection() -> None:
    p = LinePressure(CFG)
    p.add("edge:e1", T0, "s1", T0 + 1000, active=40)
    p.add("edge:e1", T0 + 2000, "s2", T0 + 12_000, active=42)  # two more joined meanwhile
    p.add("isp:isp1/r1", T0, "s1", T0 + 1000, active=900)
    assert p.strains(LINE, T0 + 5000) == [Strain("edge:e1", frozenset({"s1"}), 40),
                                          Strain("isp:isp1/r1", frozenset({"s1"}), 900)]
    assert p.strains(LINE, T0 + 12_000)[0] == Strain("edge:e1", frozenset({"s1", "s2"}), 42)
    assert p.strains({"edge": "e2", "isp": "x", "region": "y"}, T0 + 5000) == []


def test_a_copy_of_a_start_with_another_line_size_counts_once() -> None:
    p = LinePressure(CFG)
    p.add("edge:e1", T0, "s1", T0 + 1000, active=40)
    p.add("edge:e1", T0, "s1", T0 + 1000, active=41)
    assert p.starts["edge:e1"] == [(T0, "s1", T0 + 1000, 40)]
