"""The browser SDK's unit tests (tests/js/firstcall.test.mjs) under node:test."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.support.services import service_missing

ROOT = Path(__file__).resolve().parents[3]


def test_sdk_unit_tests_pass_under_node() -> None:
    node = shutil.which("node")
    if node is None:
        service_missing("Node.js", "node not found (the SDK's unit tests run under node:test)")
    done = subprocess.run([node, "--test", str(ROOT / "tests/js/firstcall.test.mjs")],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "# fail 0" in done.stdout and "# pass 11" in done.stdout
