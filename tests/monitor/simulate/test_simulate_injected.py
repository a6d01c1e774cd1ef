"""Injected bad release and bad edge: planted where asked, the rest of the day unchanged."""

from __future__ import annotations

import argparse

import pytest

from monitor.apps.simulate import add_arguments, config_from_args
from monitor.simulate import Injected, SimConfig
from monitor.simulate.plan import DayPlan, plan_day


def test_the_bad_release_crashes_and_the_bad_edge_has_extra_outages() -> None:
    base = SimConfig(seed=7, classrooms=12)
    plain = plan_day(base)
    bad = plan_day(SimConfig(seed=7, classrooms=12,
                             injected=Injected(bad_app_version="5.4.0", bad_edge="sfu-bergen")))
    on_release = [s for s in bad.school.sessions if s.app_version == "5.4.0"]
    assert 0.1 * len(bad.school.sessions) < len(on_release) < 0.45 * len(bad.school.sessions)
    crashed = {i for f in bad.faults if f.name == "app_crash" for i in f.sessions}
    share = sum(s.index in crashed for s in on_release) / len(on_release)
    assert share > 0.7  # ~0.9 planned; a few do not fit around other faults
    others = [s for s in bad.school.sessions if s.app_version != "5.4.0"]
    assert sum(s.index in crashed for s in others) / len(others) < 0.2

    def bergen_outages(day: DayPlan) -> int:
        return sum(f.name == "edge_outage" and f.line == (("edge", "sfu-bergen"),)
                   for f in day.faults)

    assert bergen_outages(bad) >= bergen_outages(plain) + 2
    # Without an injection the day is what it always was.
    again = plan_day(base)
    assert [s.app_version for s in again.school.sessions] == [
        s.app_version for s in plain.school.sessions]
    assert "5.4.0" not in {s.app_version for s in plain.school.sessions}
    with pytest.raises(ValueError, match="bad_app_share"):
        SimConfig(injected=Injected(bad_app_share=1.5))


def test_the_simulate_command_plants_them_on_request() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    config = config_from_args(parser.parse_args(
        ["--out", "-", "--bad-app-version", "5.4.0", "--bad-edge", "sfu-oslo"]))
    assert config.injected == Injected(bad_app_version="5.4.0", bad_edge="sfu-oslo")
    assert config_from_args(parser.parse_args(["--out", "-"])).injected == Injected()
