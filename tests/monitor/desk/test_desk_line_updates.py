"""The desk adds up a line incident's updates, which name only the sessions added (issue 20)."""

from __future__ import annotations

from pathlib import Path

from detectors.records import Incident
from tests.support.desk_scenario import T0, scripted_desk


def line(state: str, sessions: list[str], count: int | None) -> Incident:
    return Incident("line-edge-1", "line", state, T0 + 1_000, T0 + 5_000,  # type: ignore[arg-type]
                    T0 + 60_000 if state == "closed" else None, {"edge": "edge-1"}, {},
                    sessions=sessions, session_count=count)


async def test_a_line_incidents_sessions_are_the_union_of_its_records(tmp_path: Path) -> None:
    async with scripted_desk(tmp_path) as desk:
        d = desk.live.desk
        await d.apply(line("open", ["s1", "s2"], 2))
        await d.apply(line("update", ["s3"], 3))
        await d.apply(line("update", ["s4", "s3"], 4))  # a session named twice counts once
        assert d.state.lines["line-edge-1"].sessions == ["s1", "s2", "s3", "s4"]
        await d.apply(line("closed", [], 4))
        assert "line-edge-1" not in d.state.lines


async def test_an_update_without_a_count_still_replaces_the_list(tmp_path: Path) -> None:
    async with scripted_desk(tmp_path) as desk:  # a record of 1.1 carries every session
        d = desk.live.desk
        await d.apply(line("open", ["s1"], None))
        await d.apply(line("update", ["s1", "s2"], None))
        assert d.state.lines["line-edge-1"].sessions == ["s1", "s2"]
