"""Each injected fault produces its ground-truth episode; self-healing blips produce none."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from monitor.simulate import CLEAN_DELIVERY, NO_FAULTS, SimConfig, SimResult, simulate


def only(rates: dict[str, float], seed: int = 11, classrooms: int = 6) -> SimResult:
    """A school where only the given faults happen and links never limit."""
    faults = dataclasses.replace(NO_FAULTS, **rates)
    return simulate(
        SimConfig(
            seed=seed,
            classrooms=classrooms,
            students_min=5,
            students_max=8,
            lesson_minutes_min=20,
            lesson_minutes_max=25,
            start_spread_minutes=3,
            faults=faults,
            mess=CLEAN_DELIVERY,
            link_degradation=False,
        )
    )


def rows_near(result: SimResult, fault: dict[str, Any], sid: str) -> list[dict[str, Any]]:
    return [
        r
        for r in result.truth
        if r.get("session_id") == sid
        and fault["start"] - 20_000 <= r["started_at"] <= fault["end"] + 5_000
    ]


def kinds(rows: list[dict[str, Any]]) -> list[str]:
    return sorted(r["kind"] for r in rows)


def test_without_faults_and_with_healthy_links_nothing_happens() -> None:
    result = only({})
    assert result.faults == []
    assert result.truth == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("wifi_drop", ["disconnect"]),
        ("app_crash", ["disconnect"]),
        ("crash_no_return", ["disconnect"]),
        ("cellular_fade", ["lag"]),
        ("marginal_lag", ["lag"]),
        ("stall_10s", ["disconnect"]),
    ],
)
def test_a_session_fault_makes_exactly_its_episode(name: str, expected: list[str]) -> None:
    result = only({name: 1.0})
    placed = [f for f in result.faults if f["fault"] == name]
    assert placed, f"no {name} was placed"
    for fault in placed:
        (sid,) = fault["sessions"]
        rows = rows_near(result, fault, sid)
        assert kinds(rows) == expected, (fault, rows)
        assert all(r["fault"] == name for r in rows)
    assert len(result.truth) == len(placed)


def test_a_crash_without_return_stays_open() -> None:
    result = only({"crash_no_return": 1.0})
    assert result.truth and all(r["ended_at"] is None for r in result.truth)


def test_a_10_s_stall_is_a_disconnect_of_exactly_10_s() -> None:
    result = only({"stall_10s": 1.0})
    assert result.truth
    assert all(r["ended_at"] - r["started_at"] == 10_000 for r in result.truth)


def test_a_cellular_fade_lag_starts_where_the_fade_starts() -> None:
    result = only({"cellular_fade": 1.0})
    for fault in result.faults:
        (row,) = rows_near(result, fault, fault["sessions"][0])
        assert fault["start"] - 2000 <= row["started_at"] <= fault["start"] + 6000


def test_flapping_wifi_is_one_flapping_episode_from_the_first_drop() -> None:
    result = only({"flapping_wifi": 1.0})
    assert result.faults
    for fault in result.faults:
        rows = rows_near(result, fault, fault["sessions"][0])
        flapping = [r for r in rows if r["kind"] == "flapping"]
        assert len(flapping) == 1, rows
        assert fault["start"] - 2000 <= flapping[0]["started_at"] <= fault["start"] + 2000
        assert {r["kind"] for r in rows} <= {"flapping", "disconnect"}


@pytest.mark.parametrize("name", ["blip", "near_lag", "ok_at_10s"])
def test_self_healing_blips_are_not_episodes(name: str) -> None:
    result = only({name: 1.0})
    assert len(result.faults) > 10
    assert result.truth == []


def line_rows(result: SimResult, fault: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        r
        for r in result.truth
        if r["kind"] == "line"
        and r["line"] == fault["line"]
        and abs(r["started_at"] - fault["start"]) <= 5000
    ]


def test_an_edge_outage_disconnects_everyone_on_the_edge_and_is_a_line_incident() -> None:
    result = only({"edge_outage_per_edge_hour": 3.0}, seed=5, classrooms=10)
    assert result.faults
    for fault in result.faults:
        for sid in fault["sessions"]:
            assert "disconnect" in kinds(rows_near(result, fault, sid))
        (incident,) = line_rows(result, fault)
        assert fault["start"] - 3000 <= incident["started_at"] <= fault["start"] + 5000
        assert set(fault["sessions"]) <= set(incident["sessions"])
        assert incident["fault"] == "edge_outage"


def test_an_isp_degradation_lags_its_sessions_and_is_a_line_incident() -> None:
    result = only({"isp_degradation_per_line_hour": 1.5}, seed=5, classrooms=10)
    assert result.faults
    for fault in result.faults:
        for sid in fault["sessions"]:
            assert kinds(rows_near(result, fault, sid)) == ["lag"]
        (incident,) = line_rows(result, fault)
        assert fault["start"] - 2000 <= incident["started_at"] <= fault["start"] + 5000
        assert incident["fault"] == "isp_degradation"


def test_every_episode_is_explained_by_a_fault_when_links_are_healthy() -> None:
    rates = {
        "wifi_drop": 0.2,
        "app_crash": 0.2,
        "cellular_fade": 0.3,
        "flapping_wifi": 0.1,
        "blip": 0.3,
        "edge_outage_per_edge_hour": 1.0,
        "isp_degradation_per_line_hour": 0.5,
    }
    result = only(rates, seed=8, classrooms=10)
    assert len(result.truth) > 10
    assert all(r["fault"] not in ("link", "unknown") for r in result.truth), [
        r for r in result.truth if r["fault"] in ("link", "unknown")
    ]


def test_with_real_traces_some_lag_comes_from_the_link_alone() -> None:
    result = simulate(SimConfig(seed=3, classrooms=10, faults=NO_FAULTS, mess=CLEAN_DELIVERY))
    assert result.truth
    assert {r["fault"] for r in result.truth} <= {"link"}
    assert {r["kind"] for r in result.truth} <= {"lag", "line"}
