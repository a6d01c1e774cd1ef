"""Skip-or-fail for tests that need a real server (broker, database, browser).

On a laptop without the server the test is skipped with a visible reason; in CI
(`FIRSTCALL_REQUIRE_SERVICES=1`, set by `.ci/run`) the same absence fails it.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

REQUIRE_ENV = "FIRSTCALL_REQUIRE_SERVICES"


def services_required() -> bool:
    """True when missing services must fail the run (CI)."""
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0", "false", "no")


def service_missing(what: str, why: str) -> NoReturn:
    """Skip (laptop) or fail (CI) a test whose server is absent."""
    message = f"{what} unavailable: {why}"
    if services_required():
        pytest.fail(f"{message} ({REQUIRE_ENV} is set, so this is a failure)", pytrace=False)
    pytest.skip(message)
