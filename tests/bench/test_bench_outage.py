"""The outage phase's clock and report (the run itself: tests/e2e/test_outage_e2e.py)."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from bench.cli import setting_env
from bench.outage_figures import report
from bench.outage_procs import MachineLoad, SchoolClock, busiest


def test_the_school_clock_puts_a_wall_moment_on_event_time_at_the_pace() -> None:
    clock = SchoolClock(speed=4.0)
    assert clock.event_at(1_000) is None  # before the sender began
    clock.note(1_000, 50_000)
    clock.note(2_000, 54_000)
    clock.note(2_500, 53_000)  # an older event looked at later: the clock does not go back
    assert clock.event_at(1_000) == 50_000
    assert clock.event_at(1_500) == 52_000  # half a wall second = 2 s of the school's
    assert clock.event_at(2_500) == 56_000  # after the last note it runs on at 4x
    assert clock.event_at(12_000) == 94_000


def test_a_standing_clock_stays_at_its_last_note() -> None:
    clock = SchoolClock(speed=0.0)
    clock.note(1_000, 50_000)
    assert clock.event_at(60_000) == 50_000


def _figures(total_p95: float, desk_ratio: float) -> dict[str, Any]:
    f: dict[str, Any] = {
        "sessions": 100, "outage_sessions": 20, "line_incidents": [], "line_records": 0,
        "line_record_bytes_max": 0, "session_incidents": 4, "ordinary_incidents": 4,
        "ordinary_expected": 4, "decisions_missing": [], "incidents_without_case": [],
        "outage_families_phoned": 0, "outage_cases": 0, "outage_cases_not_closed_in_60s": 0,
        "outage_close_after_line_end_s_max": None, "outage_outcomes": [],
        "ordinary_actions": {"call": 2, "chat": 2}, "ordinary_uncontacted_last_event": {},
        "problem_to_contact_s_max": total_p95, "ordinary_contacted": 4, "open_cases": 4,
        "after_s": 300.0, "speed": 4.0, "sent_s": 1.0, "total_s": 2.0,
        "rss_mb": {"desk": {"before": 100, "peak": 130, "after": int(100 * desk_ratio),
                            "ratio": desk_ratio, "flag": desk_ratio > 1.2,
                            "cpu_s": 12.5, "cpu_peak_share": 0.8}},
        "machine": {"mean": 0.4, "busiest_10s": 0.93}, "crashed": [],
        "outage_noticed": 20, "outage_notice_s_p50": 12.0, "outage_notice_s_p95": 19.5,
    }  # fmt: skip
    for key in ("decision_delay_s", "decided_to_contact_s", "problem_to_contact_s",
                "published_to_contact_wall_s"):
        f[key + "_p50"], f[key + "_p95"] = 1.0, total_p95
    return f


def test_the_report_sets_the_baseline_beside_the_outage_and_flags_growth() -> None:
    f = {**_figures(40.0, 1.25), "baseline": _figures(31.0, 1.1)}
    text = report(f)
    row = next(line for line in text.splitlines() if "problem start -> first contact" in line)
    assert "1.0 / 40.0" in row and "1.0 / 31.0" in row
    desk = next(line for line in text.splitlines() if line.startswith("| RSS desk"))
    assert "(x1.25 **> 1.2**)" in desk and "(x1.1)" in desk
    assert "hold_off_ms=" in text


def test_the_busiest_window_is_the_steepest_ten_seconds_of_a_counter() -> None:
    # one sample a second; CPU seconds grow by 0.2/s, then 0.9/s for 12 s, then 0.1/s
    samples, used = [], 0.0
    for t in range(40):
        samples.append((float(t), used))
        used += 0.9 if 10 <= t < 22 else (0.2 if t < 10 else 0.1)
    assert busiest(samples) == 0.9
    assert busiest(samples[:3]) is None  # under half a window: no figure


def test_the_machine_load_is_busy_over_total_ticks() -> None:
    m = MachineLoad()
    ticks = [(0, 0), (100, 200), (300, 400), (500, 600), (520, 800)]
    m.samples = [(i * 5.0, t) for i, t in enumerate(ticks)]
    got = m.summary()
    assert got == {"busiest_10s": 1.0, "mean": 0.65}  # 200/200 from 5 s to 15 s; 520/800


def test_the_report_gives_each_process_cpu_and_the_machine_busy_share() -> None:
    text = report(_figures(31.0, 1.0))
    cpu = next(line for line in text.splitlines() if line.startswith("| CPU desk"))
    assert "12.5 s (0.8)" in cpu
    machine = next(line for line in text.splitlines() if line.startswith("| machine"))
    assert "0.4 (0.93)" in machine


def test_the_report_says_when_the_outage_families_were_told_and_which_process_died() -> None:
    text = report({**_figures(31.0, 1.0), "crashed": ["worker1"]})
    told = next(line for line in text.splitlines() if "outage families told" in line)
    assert "20 / 12.0 / 19.5" in told
    assert "| **processes that died (the run is not valid)** | worker1 |" in text
    assert "processes that died" not in report(_figures(31.0, 1.0))


def test_the_report_names_the_settings_a_run_was_given() -> None:
    f = {**_figures(30.0, 1.0), "settings_env": {"FIRSTCALL_LINE_SUSPECT_SHARE": "0"}}
    text = report(f)
    assert "line_suspect_share=0.0" in text
    assert "set for this run (both runs): FIRSTCALL_LINE_SUSPECT_SHARE=0." in text
    assert "(the defaults)" in report(_figures(30.0, 1.0))


def test_a_setting_for_the_run_is_checked_before_it_starts() -> None:
    assert setting_env("FIRSTCALL_LINE_SUSPECT_SHARE=0") == ("FIRSTCALL_LINE_SUSPECT_SHARE", "0")
    for bad in ("LINE_SUSPECT_SHARE=0", "FIRSTCALL_LINE_SUSPECT_SHAER=0",
                "FIRSTCALL_LINE_SUSPECT_SHARE=2", "FIRSTCALL_LINE_SUSPECT_SHARE"):
        with pytest.raises(argparse.ArgumentTypeError):
            setting_env(bad)


def test_the_ordinary_problems_are_spread_over_the_other_edges() -> None:
    from collections import Counter

    from bench.outage_school import OutageScenario

    sc = OutageScenario(sessions=5000, ordinary=200)
    problems = sc.ordinary_problems()
    ks = [int(sid.removeprefix("os-")) for sid in problems]
    assert len(problems) == 200
    assert Counter(k % sc.edges for k in ks) == {1: 50, 2: 50, 3: 50, 4: 50}  # none on edge-0
    assert Counter(kind for kind, _ in problems.values()) == {"lag": 100, "disconnect": 100}
