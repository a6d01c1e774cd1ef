"""What the jobs' command lines share: --config and --set, flags over settings, problems."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from monitor.platform.settings import ConfigError, Settings, config_path, load_settings

SET_HELP = "override one detection or outreach setting, e.g. --set silence_ms=8000"


def add_config_arguments(parser: argparse.ArgumentParser, set_help: str = SET_HELP) -> None:
    """--config FILE (default $FIRSTCALL_CONFIG) and repeatable --set KEY=VALUE."""
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=config_path(),
        help="TOML/JSON config file (docs/configuration.md; env FIRSTCALL_CONFIG); "
        "FIRSTCALL_* variables override it, and these flags override both",
    )
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help=set_help
    )


def settings_of(args: argparse.Namespace) -> Settings:
    """Every setting of this process: defaults < --config file < FIRSTCALL_* < --set."""
    return load_settings(getattr(args, "config", None), overrides=getattr(args, "set", None) or ())


def pick(flag: Any, setting: Any) -> Any:
    """A flag where it was given, else the configured setting."""
    return setting if flag is None else flag


def print_problems(exc: ConfigError) -> int:
    """Say every problem of a configuration on stderr; the exit code for it (2)."""
    print("configuration problems:", file=sys.stderr)
    for problem in exc.problems:
        print(f"  - {problem}", file=sys.stderr)
    return 2
