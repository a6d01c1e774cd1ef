"""Real bandwidth traces: parsing, per-second series, and a cache by family.

Files hold ``<t_seconds>\\t<mbit_per_s>`` per line, sampled irregularly; each
value holds until the next sample. A parsed trace is a per-second series in
kbit/s, starting at the first sample.
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

TRACE_DIR: Final = Path(__file__).resolve().parent.parent / "data" / "traces"

Family = Literal["cooked_3gp", "fcc_ori_test_traces", "traces_oboe"]
FAMILIES: Final[tuple[Family, ...]] = ("cooked_3gp", "fcc_ori_test_traces", "traces_oboe")


class TraceFormatError(ValueError):
    """A trace file line that is not `<seconds> <mbit/s>`."""


@dataclass(frozen=True, slots=True)
class Trace:
    """One measured trace as a per-second capacity series (kbit/s)."""

    family: str
    name: str
    kbps: tuple[float, ...]

    @property
    def seconds(self) -> int:
        """Length of the series in seconds."""
        return len(self.kbps)

    def percentile(self, q: float) -> float:
        """The q-quantile (0..1) of the per-second capacity."""
        ordered = sorted(self.kbps)
        index = min(len(ordered) - 1, max(0, int(q * (len(ordered) - 1) + 0.5)))
        return ordered[index]


def parse_samples(text: str, source: str = "<text>") -> list[tuple[float, float]]:
    """Parse `(t_seconds, mbit_per_s)` samples, skipping blank lines."""
    samples: list[tuple[float, float]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2:
            raise TraceFormatError(f"{source}:{number}: expected 2 columns, got {line!r}")
        try:
            t, mbps = float(parts[0]), float(parts[1])
        except ValueError as exc:
            raise TraceFormatError(f"{source}:{number}: not numbers: {line!r}") from exc
        if mbps < 0 or t < 0:
            raise TraceFormatError(f"{source}:{number}: negative value: {line!r}")
        samples.append((t, mbps))
    samples.sort(key=lambda s: s[0])
    if not samples:
        raise TraceFormatError(f"{source}: no samples")
    return samples


def per_second(samples: list[tuple[float, float]]) -> list[float]:
    """Hold each sample until the next one; one kbit/s value per whole second."""
    t0 = samples[0][0]
    times = [t - t0 for t, _ in samples]
    length = max(1, int(times[-1]) + 1)
    out: list[float] = []
    for second in range(length):
        index = bisect.bisect_right(times, float(second)) - 1
        out.append(samples[max(0, index)][1] * 1000.0)
    return out


def parse_trace(path: Path, family: str = "") -> Trace:
    """Read one trace file into a per-second series."""
    text = path.read_text(encoding="utf-8")
    series = per_second(parse_samples(text, str(path)))
    return Trace(family=family or path.parent.name, name=path.name, kbps=tuple(series))


@functools.cache
def load_family(family: Family, root: Path = TRACE_DIR) -> tuple[Trace, ...]:
    """All traces of one family, parsed once and cached, in file-name order."""
    folder = root / family
    files = sorted(p for p in folder.iterdir() if p.is_file())
    traces = tuple(parse_trace(p, family) for p in files)
    if not traces:
        raise FileNotFoundError(f"no traces in {folder}")
    return traces


@functools.cache
def normalized(family: Family, root: Path = TRACE_DIR) -> tuple[tuple[float, ...], ...]:
    """Each trace of a family divided by its own 10th percentile (1.0 = a weak second)."""
    out: list[tuple[float, ...]] = []
    for trace in load_family(family, root):
        floor = trace.percentile(0.10)
        if floor < 50.0:  # traces dominated by outages: use a share of the median
            floor = max(50.0, trace.percentile(0.5) * 0.3)
        out.append(tuple(v / floor for v in trace.kbps))
    return tuple(out)
