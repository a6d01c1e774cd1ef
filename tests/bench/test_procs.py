"""Stopping a child process: SIGTERM first; SIGKILL only for one that ignores it."""

from __future__ import annotations

import signal
import subprocess
import sys

from bench.procs import stop_process

STUBBORN = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(120)")


def child(code: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    return proc


def test_a_process_that_heeds_sigterm_ends_with_it() -> None:
    proc = child("import time; print('ready', flush=True); time.sleep(120)")
    assert stop_process(proc) == -signal.SIGTERM


def test_a_process_that_ignores_sigterm_is_killed() -> None:
    proc = child(STUBBORN)
    assert stop_process(proc, timeout_s=0.5) == -signal.SIGKILL


def test_a_process_already_gone_keeps_its_exit_code() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    proc.wait(timeout=30)
    assert stop_process(proc) == 3
