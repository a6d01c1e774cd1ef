"""Build hook: compile the per-event detectors with mypyc (pure Python when that cannot be done).

Everything else about the package lives in pyproject.toml. The compiled
modules are the same source, type-checked and turned into C by mypyc; the
detectors run about 1.4x faster that way. Without a C compiler, or with
FIRSTCALL_COMPILE=0, the install keeps the pure-Python modules, which behave
identically (tests/detectors/test_compiled_detectors.py holds the two together).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

# The hot path: what runs for every telemetry event. Kept in step with
# detectors.COMPILED_MODULES.
COMPILED = (
    "detectors/engine.py",
    "detectors/lag.py",
    "detectors/flapping.py",
    "detectors/disconnect.py",
)


class OptionalBuildExt(build_ext):
    """build_ext that falls back to pure Python, with a clear line, if compiling fails."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:
            print(f"firstcall: compiling the detectors failed ({exc}); using pure Python",
                  file=sys.stderr)

    def build_extension(self, ext: Any) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            print(f"firstcall: {ext.name} not compiled ({exc}); using pure Python",
                  file=sys.stderr)


def record_sources() -> None:
    """Note which source the build compiles (detectors/__init__.py ignores a stale build)."""
    here = Path(__file__).resolve().parent
    digests = {Path(p).stem: hashlib.sha256((here / p).read_bytes()).hexdigest()
               for p in COMPILED}
    (here / "detectors" / "compiled_from.json").write_text(json.dumps(digests, indent=1) + "\n")


def compiled_extensions() -> list[Any]:
    """mypyc extensions for the hot path, or none (FIRSTCALL_COMPILE=0, mypyc missing)."""
    if os.environ.get("FIRSTCALL_COMPILE", "1").strip().lower() in ("0", "false", "no"):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        print("firstcall: mypyc not available; the detectors stay pure Python", file=sys.stderr)
        return []
    try:
        record_sources()
        # --config-file= keeps mypyc on its defaults (the project's strict mypy run is
        # separate); imports outside the compiled set are only read for their types.
        return list(mypycify(["--config-file=", "--ignore-missing-imports", *COMPILED],
                             opt_level="3", group_name="firstcall_detectors"))
    except BaseException as exc:
        print(f"firstcall: mypyc could not compile the detectors ({exc!r}); using pure Python",
              file=sys.stderr)
        return []


setup(ext_modules=compiled_extensions(), cmdclass={"build_ext": OptionalBuildExt})
