"""`firstcall token`: mint a session token for the browser SDK (the recipe: docs/collector.md)."""

from __future__ import annotations

import argparse
import sys
import time

from monitor.collect.tokens import SessionGrant, mint
from monitor.platform.job_config import print_problems, settings_of
from monitor.platform.settings import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `firstcall token`."""
    parser.add_argument("--config", help="config file ([collect] secret)")
    parser.add_argument("--session", required=True, help="session_id the token grants")
    parser.add_argument("--student", required=True, help="student_id of that session")
    parser.add_argument("--classroom", required=True, help="classroom_id of that session")
    parser.add_argument("--ttl-s", type=int, default=3 * 3600,
                        help="seconds the token is valid (at most [collect] token_max_ttl_s)")


def run(args: argparse.Namespace) -> int:
    """Print one token (secret from [collect] secret, e.g. FIRSTCALL_COLLECT_SECRET)."""
    try:
        st = settings_of(args)
    except ConfigError as exc:
        return print_problems(exc)
    secret = st.collect.secret.get_secret_value()
    if not secret:
        print("firstcall token: no [collect] secret (set FIRSTCALL_COLLECT_SECRET)",
              file=sys.stderr)
        return 2
    ttl = min(args.ttl_s, st.collect.token_max_ttl_s)
    grant = SessionGrant(args.session, args.student, args.classroom, int(time.time()) + ttl)
    print(mint(grant, secret.encode()))
    return 0
