"""The `firstcall` command: one entry point, one subcommand per job."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from monitor import demo, replay
from monitor.apps import (
    collect,
    config,
    db,
    directory,
    kafka_jobs,
    outreach,
    report,
    score,
    serve,
    simulate,
    token,
    user,
    voc,
)

DESCRIPTION = """\
FirstCall watches live-class telemetry and reaches a family seconds after their
child's class starts to stutter or drops, before they have to call support.

common jobs:
  firstcall demo                      a simulated school, live, with the agent console
  firstcall simulate --out day.jsonl  write a simulated school day (plus ground truth)
  firstcall replay day.jsonl          backtest: incidents and outreach decisions of a recording
  firstcall score out.jsonl --truth truth.jsonl   how well a replay found the true problems
  firstcall config check              is this configuration (file + env) valid?

production: firstcall db upgrade; firstcall worker; firstcall correlator;
            firstcall outreach; firstcall serve (each with --help)

Settings come from --config FILE (TOML/JSON), FIRSTCALL_* environment variables
and --set KEY=VALUE, in rising order of precedence.
"""

@dataclass(frozen=True, slots=True)
class Command:
    """One `firstcall` subcommand: its options and what runs it."""

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


SUBCOMMANDS: dict[str, Command] = {
    "replay": Command("run recorded telemetry through detectors and policy (backtest)",
                      replay.add_arguments, replay.run),
    "simulate": Command("simulate a school from real bandwidth traces; write telemetry + truth",
                        simulate.add_arguments, simulate.run),
    "score": Command("score a replay's records against the simulator's ground truth",
                     score.add_arguments, score.run),
    "demo": Command("run a simulated school live through the in-process bus",
                    demo.add_arguments, demo.run),
    "worker": Command("Kafka consumer-group worker: telemetry -> incidents",
                      kafka_jobs.add_worker_arguments, kafka_jobs.run_worker),
    "correlator": Command("Kafka consumer group correlating session findings into line incidents",
                          kafka_jobs.add_correlator_arguments, kafka_jobs.run_correlator),
    "config": Command("check a configuration (file + FIRSTCALL_* variables) or show every setting",
                      config.add_arguments, config.run),
    "db": Command("case database: run the schema migrations (firstcall db upgrade)",
                  db.add_arguments, db.run),
    "directory": Command("family directory: import students and guardians (CSV, JSON, JSONL)",
                         directory.add_arguments, directory.run),
    "serve": Command("the support desk: API, agent console, ops dashboard and reports",
                     serve.add_arguments, serve.run),
    "user": Command("console users: add NAME --role agent|ops|viewer (prints the token once), list",
                    user.add_arguments, user.run),
    "report": Command("incidents, lesson minutes lost, contacts, outcomes by classroom, teacher, "
                      "line...", report.add_arguments, report.run),
    "voc": Command("voice-of-the-customer digest per team (infrastructure, product, teaching, "
                   "support), md/html/csv, --send by email or webhook", voc.add_arguments,
                   voc.run),
    "outreach": Command("live outreach: calls, SMS, chat, infra pages, case outcomes",
                        outreach.add_arguments, outreach.run),
    "collect": Command("telemetry collector: browsers' events (HTTP, websocket) into Kafka",
                       collect.add_arguments, collect.run),
    "token": Command("mint a session token for the browser SDK (--session --student "
                     "--classroom)", token.add_arguments, token.run),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="firstcall", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version="%(prog)s 0.1.0")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, command in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=command.help, description=command.help)
        command.add_arguments(p)
        p.set_defaults(_run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and run the chosen subcommand."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
