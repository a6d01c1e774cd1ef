"""The weekly digest of `firstcall serve`: when it is due, and one signed post per week."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from monitor.apps.serve import add_arguments, options
from monitor.platform.settings import ConfigError, DigestSection, load_settings
from monitor.voc_delivery import SIGNATURE_HEADER, sign
from monitor.voc_schedule import WEEK_MS, WeeklyDigest, next_weekly
from outreach.store.db import make_engine, upgrade
from tests.support.channel_fakes import serve_asgi
from tests.support.voc_week import MIN, T, seed_hour

HOUR = 60 * MIN  # T is Thursday 2026-01-01 09:00 UTC


def test_next_weekly_is_the_first_matching_utc_time_after_now() -> None:
    assert next_weekly(T, "mon 07:00") == T + 3 * 24 * HOUR + 22 * HOUR  # Mon 5 Jan 07:00
    assert next_weekly(T, "thu 10:00") == T + HOUR
    assert next_weekly(T, "thu 09:00") == T + WEEK_MS  # now is not after now
    assert next_weekly(T - 1, "thu 09:00") == T


def test_bad_weekly_times_and_a_schedule_with_nowhere_to_send_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"WEEKLY_AT=.monday 7am.: String should match"):
        load_settings(None, {"FIRSTCALL_VOC_WEEKLY_AT": "monday 7am"})
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    with pytest.raises(ConfigError, match="nothing to send to"):
        options(parser.parse_args([]), {"FIRSTCALL_VOC_WEEKLY_AT": "mon 07:00"})
    assert options(parser.parse_args([]), {}).weekly is None
    weekly = options(parser.parse_args([]), {"FIRSTCALL_VOC_WEEKLY_AT": "mon 07:00",
                                             "FIRSTCALL_VOC_WEBHOOK_URL": "https://x.example/",
                                             "FIRSTCALL_VOC_WEBHOOK_KEY": "k"}).weekly
    assert weekly is not None and weekly.settings.weekly_at == "mon 07:00"


class FakeTime:
    """A clock that sleeping moves forward."""

    def __init__(self, now: int) -> None:
        self.now = now
        self.slept: list[float] = []

    def clock(self) -> int:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += int(seconds * 1000)


async def test_each_week_the_last_seven_days_are_posted_once(tmp_path: Path) -> None:
    engine = make_engine(str(tmp_path / "w.db"))
    await upgrade(engine)
    await seed_hour(engine)
    got: list[tuple[str, str, bytes]] = []
    answers = [500, 200]  # the first week's receiver is down: logged, and the next week comes

    async def hook(request: Request) -> Response:
        got.append((request.headers["x-firstcall-timestamp"],
                    request.headers[SIGNATURE_HEADER.lower()], await request.body()))
        return Response(status_code=answers[len(got) - 1])

    time = FakeTime(T)
    try:
        async with serve_asgi(Starlette(routes=[Route("/w", hook, methods=["POST"])])) as base:
            settings = DigestSection(webhook_url=base + "/w", webhook_key="k",  # type: ignore[arg-type]
                                     weekly_at="thu 10:00")
            weekly = WeeklyDigest.from_settings(settings)
            assert weekly is not None
            await weekly.run(engine, time.clock, time.sleep, runs=2)
    finally:
        await engine.dispose()
    assert max(time.slept) <= 3600.0 and time.now == T + HOUR + WEEK_MS
    (_, _, body1), (stamp2, sig2, body2) = got
    first, second = json.loads(body1), json.loads(body2)
    assert (first["since_ms"], first["until_ms"]) == (T + HOUR - WEEK_MS, T + HOUR)
    assert first["problems"]["infrastructure"][0]["subject"] == "edge:sfu-bergen"
    assert (second["since_ms"], second["until_ms"]) == (T + HOUR, T + HOUR + WEEK_MS)
    assert second["problems"]["infrastructure"] == []  # a quiet week after
    assert int(stamp2) == (T + HOUR + WEEK_MS) // 1000 and sig2 == sign(b"k", int(stamp2), body2)
