"""Stopping a child process: SIGTERM, then SIGKILL if it lingers (benchmarks and tests)."""

from __future__ import annotations

import subprocess
from typing import Any


def stop_process(proc: subprocess.Popen[Any], timeout_s: float = 20,
                 kill_s: float = 10) -> int:
    """SIGTERM, wait `timeout_s`, then SIGKILL and wait `kill_s`; its exit code."""
    if proc.poll() is not None:
        return proc.returncode
    proc.terminate()
    try:
        return proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(timeout=kill_s)
