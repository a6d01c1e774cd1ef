"""The `firstcall` command: one entry point, one subcommand per job."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

DESCRIPTION = """\
FirstCall watches live-class telemetry and reaches a family seconds after their
child's class starts to stutter or drops, before they have to call support.

common jobs:
  firstcall demo                      a simulated school, live, with the agent console
  firstcall simulate --out day.jsonl  write a simulated school day (plus ground truth)
  firstcall replay day.jsonl          backtest: incidents and outreach decisions of a recording
  firstcall config check              is this configuration (file + env) valid?
  firstcall bench                     throughput, memory and latency benchmarks

production: firstcall db upgrade; firstcall worker; firstcall correlator;
            firstcall outreach; firstcall serve (each with --help)

Settings come from --config FILE (TOML/JSON), FIRSTCALL_* environment variables
and --set KEY=VALUE, in rising order of precedence.
"""

# name -> (module, add-arguments function, run function, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str, str, str]] = {
    "replay": ("monitor.replay", "add_arguments", "run",
               "run recorded telemetry through detectors and policy (backtest)"),
    "simulate": ("monitor.simulate.cli", "add_arguments", "run",
                 "simulate a school from real bandwidth traces; write telemetry + truth"),
    "demo": ("monitor.demo", "add_arguments", "run",
             "run a simulated school live through the in-process bus"),
    "bench": ("monitor.bench.cli", "add_arguments", "run",
              "measure replay throughput, memory per session, Kafka rates"),
    "worker": ("monitor.kafka.cli", "add_worker_arguments", "run_worker",
               "Kafka consumer-group worker: telemetry -> incidents"),
    "correlator": ("monitor.kafka.cli", "add_correlator_arguments", "run_correlator",
                   "Kafka consumer group correlating session findings into line incidents"),
    "config": ("monitor.config_cli", "add_arguments", "run",
               "check a configuration (file + FIRSTCALL_* variables) or show every setting"),
    "db": ("outreach.cases.db_cli", "add_arguments", "run",
           "case database: run the schema migrations (firstcall db upgrade)"),
    "directory": ("outreach.directory_cli", "add_arguments", "run",
                  "family directory: import students and guardians (CSV, JSON, JSONL)"),
    "serve": ("monitor.web.serve", "add_arguments", "run",
              "the support desk: API, agent console, ops dashboard and reports"),
    "user": ("monitor.users_cli", "add_arguments", "run",
             "console users: add NAME --role agent|ops|viewer (prints the token once), list"),
    "report": ("monitor.report_cli", "add_arguments", "run",
               "incidents, lesson minutes lost, contacts, outcomes by classroom, teacher, line..."),
    "outreach": ("outreach.live_cli", "add_arguments", "run",
                 "live outreach: calls, SMS, chat, infra pages, case outcomes"),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="firstcall", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version="%(prog)s 0.1.0")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, add, run, help_text) in SUBCOMMANDS.items():
        mod = importlib.import_module(module)
        p = sub.add_parser(name, help=help_text, description=help_text)
        getattr(mod, add)(p)
        p.set_defaults(_run=getattr(mod, run))
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
