"""Worker and correlator as real processes (so a test can SIGKILL one)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile

from bench.procs import stop_process
from monitor.platform.kafka_settings import KafkaSettings


def topic_prefix(s: KafkaSettings) -> str:
    """The prefix isolated_settings put in front of the default topic names."""
    return s.topics.telemetry[: -len("class.telemetry")]


class Proc:
    """`python -m monitor.apps.kafka_jobs <role>` for the topics and groups of `s`."""

    def __init__(self, role: str, s: KafkaSettings, *extra: str) -> None:
        group = s.worker_group if role == "worker" else s.correlator_group
        self.args = [
            sys.executable,
            "-m",
            "monitor.apps.kafka_jobs",
            role,
            "--bootstrap",
            s.bootstrap,
            "--topic-prefix",
            topic_prefix(s),
            "--group",
            group,
            "--clock",
            s.clock,
            "--probe-port",
            "-1",
            "--partitions",
            str(s.telemetry_partitions),
            "--findings-partitions",
            str(s.findings_partitions),
            *extra,
        ]
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (lives as long as the process)
            prefix=f"firstcall-{role}-", suffix=".log", delete=False
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        """Start the process (logs go to `self.log`)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("FIRSTCALL_TOPIC_")}
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        return self

    def kill(self) -> None:
        """SIGKILL: no flush, no commit, no leaving the group."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self, timeout: float = 20) -> int | None:
        """SIGTERM and wait; SIGKILL if it does not stop in time."""
        return None if self.proc is None else stop_process(self.proc, timeout)

    def output(self) -> str:
        """What the process logged so far."""
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return f.read()
