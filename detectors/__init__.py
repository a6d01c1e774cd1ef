"""Pure, event-time detectors of class trouble: lag, disconnect, flapping, line incidents.

The per-event modules (:data:`COMPILED_MODULES`) are compiled with mypyc when
the package is installed (setup.py). Their Python source runs instead when
FIRSTCALL_PURE_PYTHON=1, when no compiled build exists, or when the build was
made from other source than what is on disk (an edit after installing): a stale
build never shadows an edit. :func:`build` says which one this process runs.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType
from typing import Final

COMPILED_MODULES: Final = ("engine", "lag", "flapping", "disconnect")
BUILD_RECORD: Final = "compiled_from.json"  # written by setup.py: module -> source sha256
PURE_ENV: Final = "FIRSTCALL_PURE_PYTHON"
_HERE: Final = Path(__file__).resolve().parent


def source_digest(name: str) -> str:
    """sha256 of a compiled module's Python source as it is on disk now."""
    return hashlib.sha256((_HERE / f"{name}.py").read_bytes()).hexdigest()


def _has_extension(name: str) -> bool:
    return any((_HERE / f"{name}{s}").exists() for s in importlib.machinery.EXTENSION_SUFFIXES)


def _stale_modules() -> list[str]:
    """Compiled modules whose build does not match their source on disk."""
    try:
        record = json.loads((_HERE / BUILD_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = {}
    return [
        name
        for name in COMPILED_MODULES
        if _has_extension(name) and record.get(name) != source_digest(name)
    ]


class SourceFinder:
    """Import hook: loads the compiled detector modules from their Python source."""

    @classmethod
    def find_spec(
        cls, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        """A source spec for `detectors.<compiled module>`, else None (the usual import)."""
        package, _, name = fullname.rpartition(".")
        if package != __name__ or name not in COMPILED_MODULES:
            return None
        return importlib.util.spec_from_file_location(fullname, _HERE / f"{name}.py")


def _choose() -> str:
    if os.environ.get(PURE_ENV, "").strip().lower() not in ("1", "true", "yes"):
        if not all(_has_extension(n) for n in COMPILED_MODULES):
            return "python"  # never compiled here: the source is what Python imports anyway
        stale = _stale_modules()
        if not stale:
            return "compiled"
        warnings.warn(
            f"the compiled detectors were built from other source ({', '.join(stale)} changed "
            "since); running the Python source. Rebuild: pip install -e . (or make)",
            RuntimeWarning,
            stacklevel=2,
        )
    sys.meta_path.insert(0, SourceFinder)  # all or none: compiled modules share one library
    return "python"


_BUILD: Final = _choose()


def build() -> str:
    """'compiled' when the per-event detectors run as mypyc extensions, else 'python'."""
    return _BUILD
