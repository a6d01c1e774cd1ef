"""A plain progress bar on stderr for long replays (only when stderr is a terminal)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Shows bytes read out of a known total, with the event rate."""

    def __init__(self, total_bytes: int | None, stream: TextIO | None = None,
                 enabled: bool | None = None, every_s: float = 0.25) -> None:
        self.total = total_bytes
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.every_s = every_s
        self.start = time.perf_counter()
        self._last = 0.0
        self._width = 0

    def update(self, done_bytes: int, events: int) -> None:
        """Redraw at most every `every_s` seconds."""
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._last < self.every_s:
            return
        self._last = now
        text = self.line(done_bytes, events, now - self.start)
        self.stream.write("\r" + text.ljust(self._width))
        self._width = max(self._width, len(text))
        self.stream.flush()

    def line(self, done_bytes: int, events: int, elapsed: float) -> str:
        """The text of the bar."""
        rate = events / elapsed if elapsed > 0 else 0.0
        if self.total:
            frac = min(done_bytes / self.total, 1.0)
            filled = int(frac * 30)
            eta = elapsed * (1 - frac) / frac if frac > 0 else 0.0
            return (f"[{'#' * filled}{'.' * (30 - filled)}] {frac:6.1%} "
                    f"{events:,} events {rate:,.0f}/s eta {eta:4.0f}s")
        return f"{events:,} events {rate:,.0f}/s"

    def close(self) -> None:
        """Clear the bar, so the summary that follows starts on a clean line."""
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
