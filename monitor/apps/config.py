"""`firstcall config check|show`: validate a configuration, or print it."""

from __future__ import annotations

import argparse
import json
import sys

from monitor.platform.callback_url import callback_problems
from monitor.platform.settings import (
    ConfigError,
    Settings,
    load_settings,
    markdown_reference,
    twilio_on,
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of `firstcall config`."""
    sub = p.add_subparsers(dest="config_command", required=True, metavar="check|show")
    check = sub.add_parser("check", help="validate a config file plus FIRSTCALL_* variables",
                           description="Validate the configuration this process would run "
                                       "with; list every problem and exit 1 if there is one.")
    check.add_argument("--config", metavar="FILE", help="TOML or JSON config file")
    show = sub.add_parser("show", help="print the effective configuration (secrets masked)")
    show.add_argument("--config", metavar="FILE", help="TOML or JSON config file")
    show.add_argument("--markdown", action="store_true",
                      help="print the reference of every setting instead (docs/configuration.md)")


def notes(settings: Settings) -> list[str]:
    """What a valid configuration leaves off, said plainly (not problems)."""
    if twilio_on(settings.twilio):
        return []
    return ["Twilio is off (no [twilio] account_sid, auth_token and from_number, e.g. "
            "FIRSTCALL_TWILIO_AUTH_TOKEN): no calls or SMS, and the callback app has no Twilio "
            "routes (404); outreach uses chat and the agent queue only"]


def run(args: argparse.Namespace) -> int:
    """Run `config check` or `config show`."""
    if args.config_command == "show" and args.markdown:
        print(markdown_reference())
        return 0
    try:
        settings = load_settings(args.config)
        if args.config_command == "check" and (problems := callback_problems(
                settings.twilio, settings.service.public_base_url)):
            raise ConfigError(problems, settings.warnings)
    except ConfigError as exc:
        for w in exc.warnings:
            print(f"warning: {w}", file=sys.stderr)
        print(f"configuration has {len(exc.problems)} problem(s):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"cannot read {args.config}: {exc.strerror}", file=sys.stderr)
        return 1
    for w in settings.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if args.config_command == "check":
        for note in notes(settings):
            print(f"note: {note}")
        print("configuration OK" + (f" ({args.config} + environment)" if args.config
                                    else " (defaults + environment)"))
        return 0
    print(json.dumps(settings.as_dict(), indent=2, default=str))
    return 0
