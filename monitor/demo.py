"""`firstcall demo`: a simulated school, live, through the in-process bus, in the browser.

The simulator plays real measured bandwidth traces as live classes (faster than
real time if asked), the same detectors and outreach policy as production watch
them, every incident, outreach decision and case outcome is shown as it happens,
and the agent console and ops dashboard run alongside. The cases belong to
production's case runtime (`outreach.contact.runtime.CaseRuntime`, fed from the bus as in
`firstcall outreach`): chat through the chat gateway, calls and SMS through the
local Twilio stand-in, cases in a SQLite file under `.firstcall/`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import orjson

from detectors.records import Incident, Outreach, Record, encode
from monitor.demo_web import start_web
from monitor.platform.settings import TopicsSection
from monitor.simulate.config import SimConfig
from monitor.streaming.assembly import Pipeline
from monitor.streaming.bus import InProcessBus
from monitor.streaming.bus_feed import BusOutcomeSink, run_bus
from outreach.decide.clock import now_ms

_TOPICS = TopicsSection.defaults()  # the default topic names: the demo's bus is in this process
TELEMETRY = _TOPICS.telemetry
INCIDENTS = _TOPICS.incidents
OUTCOMES_TOPIC = _TOPICS.outcomes


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of `firstcall demo`."""
    p.add_argument("--classrooms", type=int, default=12, help="live lessons (default 12)")
    p.add_argument("--speed", type=float, default=10.0,
                   help="simulated seconds per real second (default 10)")
    p.add_argument("--seed", type=int, default=1, help="simulator seed")
    p.add_argument("--minutes", type=float, default=None,
                   help="stop after this many real minutes (default: when the lessons end)")
    p.add_argument("--no-color", action="store_true", help="plain text output")
    p.add_argument("--faults", type=float, default=None,
                   help="multiply the simulator's fault rates (default 3 with the console, "
                        "1 with --no-web)")
    p.add_argument("--no-browser", action="store_true",
                   help="do not open a browser (the console URL is still printed)")
    p.add_argument("--no-web", action="store_true",
                   help="terminal only: no console, no case database")
    p.add_argument("--host", default="127.0.0.1", help="console address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8377, help="console port (default 8377, 0: any)")
    p.add_argument("--dir", type=Path, default=Path(".firstcall"),
                   help="where the demo's case database goes (default .firstcall/)")


class Printer:
    """Turns records into one calm line each for the operator watching."""

    COLORS = {"lag": "33", "disconnect": "31", "flapping": "35", "line": "1;31",
              "call": "1;32", "sms": "1;32", "chat": "32", "none": "2", "agent_queue": "1;34"}

    def __init__(self, out: TextIO, color: bool) -> None:
        self.out = out
        self.color = color
        self.counts: dict[str, int] = {}

    def _c(self, key: str, text: str) -> str:
        code = self.COLORS.get(key)
        return f"\x1b[{code}m{text}\x1b[0m" if self.color and code else text

    def show(self, r: Record) -> None:
        """Print one record."""
        if isinstance(r, Incident):
            self.counts[f"{r.kind} {r.state}"] = self.counts.get(f"{r.kind} {r.state}", 0) + 1
            when = _clock(r.detected_at if r.state != "closed" else (r.ended_at or r.detected_at))
            if r.kind == "line":
                where = " ".join(f"{k}={v}" for k, v in r.line.items())
                text = (f"{when}  {self._c('line', f'LINE {r.state:<6}')} {where}: "
                        f"{r.session_count or len(r.sessions or [])} sessions affected"
                        + ("  -> paging infrastructure" if r.state == "open" else ""))
            else:
                why = _why(r)
                text = (f"{when}  {self._c(r.kind, f'{r.kind.upper():<10} {r.state:<6}')} "
                        f"{r.session_id} ({r.classroom_id}, {r.line.get('isp')}/"
                        f"{r.line.get('region')} {r.line.get('edge')}){why}")
        else:
            assert isinstance(r, Outreach)
            self.counts[f"outreach {r.action}"] = self.counts.get(f"outreach {r.action}", 0) + 1
            verb = {"call": "CALL the family", "sms": "SMS the family",
                    "chat": "CHAT in the class app", "agent_queue": "QUEUE for a technician",
                    "none": "no contact"}[r.action]
            text = (f"{_clock(r.decided_at)}  {self._c(r.action, '-> ' + verb)} "
                    f"of {r.student_id}: {r.reason}")
        print(text, file=self.out, flush=True)

    def show_outcome(self, o: dict[str, object]) -> None:
        """Print how a case ended."""
        outcome = str(o["outcome"])
        self.counts[f"case {outcome}"] = self.counts.get(f"case {outcome}", 0) + 1
        when = _clock(int(str(o["closed_at"])))
        print(f"{when}  {self._c('none', '=  case closed')} of {o['student_id']}: {outcome}, "
              f"{o['lesson_minutes_lost']} lesson minutes lost", file=self.out, flush=True)


def _clock(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%H:%M:%S")


def _why(r: Incident) -> str:
    ev = r.evidence
    if r.state == "closed":
        return f", lasted {((r.ended_at or r.started_at) - r.started_at) / 1000:.0f} s"
    if r.kind == "lag":
        bad = sorted({d for i in ev.get("intervals", []) for d in i["degraded"]})
        return f": {ev.get('degraded')} of {ev.get('window')} intervals degraded ({', '.join(bad)})"
    if r.kind == "disconnect":
        return f": {ev.get('cause')}" + (f" ({ev['reason']})" if "reason" in ev else "")
    if r.kind == "flapping":
        return f": {ev.get('drops')} drops within 5 min"
    return ""


async def run_demo(args: argparse.Namespace, out: TextIO) -> dict[str, int]:
    """Simulator -> bus -> detectors + policy -> bus -> case runtime (+ desk) and printer."""
    from monitor.simulate import FaultRates, feed_live

    bus = InProcessBus()
    printer = Printer(out, color=not args.no_color and out.isatty())
    factor = args.faults if args.faults is not None else (1.0 if args.no_web else 3.0)
    config = SimConfig(seed=args.seed, classrooms=args.classrooms, start_ms=now_ms(),
                       faults=FaultRates().scaled(factor))

    async def publish(r: Record) -> None:
        await bus.publish(INCIDENTS, (r.session_id or "").encode(), encode(r))

    web = None if args.no_web else await start_web(
        args, config, publish=publish, sink=BusOutcomeSink(bus, OUTCOMES_TOPIC))

    async def produce() -> None:
        async def sink(raw: bytes) -> None:
            key = orjson.loads(raw).get("session_id", "").encode()
            await bus.publish(TELEMETRY, key, raw)
        await feed_live(config, sink, speed=args.speed)
        await bus.close(TELEMETRY)

    async def detect() -> None:
        pending: list[Record] = []
        pipe = Pipeline(pending.append) if web is None else None
        wall0: float | None = None
        ts0 = 0
        async for batch in bus.batches(TELEMETRY, "detectors"):
            if batch:
                if wall0 is None:
                    wall0, ts0 = time.monotonic(), orjson.loads(batch[0].value)["ts"]
                raws = [m.value for m in batch]
                if web is not None:
                    await web.live.feed(raws)
                elif pipe is not None:
                    pipe.feed_raw(raws)
            if wall0 is not None:  # time moves on in a quiet moment too
                now = ts0 + int((time.monotonic() - wall0) * 1000 * args.speed) - 1000
                if web is not None:
                    await web.live.advance(now)
                elif pipe is not None:
                    pipe.tick(now)
            for r in pending:
                await publish(r)
            pending.clear()
        await bus.close(INCIDENTS)

    async def cases() -> None:  # the case runtime, fed as `firstcall outreach` is
        if web is not None:
            await run_bus(web.live, bus, INCIDENTS, "outreach")
        await bus.close(OUTCOMES_TOPIC)

    async def show() -> None:
        from detectors.records import decode_record
        async for batch in bus.batches(INCIDENTS, "console"):
            for m in batch:
                printer.show(decode_record(m.value))

    async def show_outcomes() -> None:
        async for batch in bus.batches(OUTCOMES_TOPIC, "console"):
            for m in batch:
                printer.show_outcome(orjson.loads(m.value))

    print(f"FirstCall demo: {args.classrooms} live lessons from real bandwidth traces, "
          f"{args.speed:g}x real time. {how_long(config, args.speed, args.minutes)} "
          "Ctrl-C to stop.", file=out, flush=True)
    if web is not None:
        web.announce(out, open_browser=not args.no_browser)
    tasks = [asyncio.create_task(c)
             for c in (produce(), detect(), cases(), show(), show_outcomes())]
    try:
        if args.minutes is not None:
            await asyncio.wait_for(asyncio.gather(*tasks), args.minutes * 60)
        else:
            await asyncio.gather(*tasks)
    except TimeoutError:
        pass
    finally:
        for t in tasks:
            t.cancel()
        if web is not None:
            await web.stop()
    return printer.counts


def how_long(config: SimConfig, speed: float, minutes: float | None) -> str:
    """The sentence telling the operator how long the demo runs, in school and real time."""
    from monitor.simulate.school import build_school

    first, last = build_school(config).span
    school_min = (last - first) / 60_000
    real_min = school_min / speed
    if minutes is not None and minutes < real_min:
        return f"It stops after {minutes:g} real minutes (--minutes)."
    return (f"The school day lasts {school_min:.0f} school minutes, about "
            f"{real_min:.1f} real minutes at {speed:g}x; then the demo ends.")


def run(args: argparse.Namespace) -> int:
    """Run the demo until the lessons end (or --minutes, or Ctrl-C)."""
    if not args.no_web:
        from monitor.platform.logging import configure

        configure("WARNING")  # the terminal shows the school, not log lines
    counts = asyncio.run(run_demo(args, sys.stdout))
    summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing"
    print(f"\ndemo over: {summary}", file=sys.stderr)
    return 0
