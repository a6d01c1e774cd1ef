"""The demo says how long it runs, in school time and in real time."""

from __future__ import annotations

from monitor.demo import how_long
from monitor.simulate.config import SimConfig
from monitor.simulate.school import build_school


def test_the_demo_says_how_long_the_school_day_lasts_in_real_minutes() -> None:
    config = SimConfig(seed=1, classrooms=6)
    first, last = build_school(config).span
    school = (last - first) / 60_000
    text = how_long(config, 10.0, None)
    assert f"{school:.0f} school minutes" in text
    assert f"about {school / 10:.1f} real minutes at 10x" in text


def test_a_shorter_minutes_limit_is_what_it_says() -> None:
    assert how_long(SimConfig(seed=1, classrooms=6), 10.0, 0.5) == (
        "It stops after 0.5 real minutes (--minutes).")


def test_a_longer_minutes_limit_still_ends_with_the_school_day() -> None:
    assert "then the demo ends" in how_long(SimConfig(seed=1, classrooms=6), 10.0, 600)
