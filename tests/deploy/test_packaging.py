"""The installed package carries everything it needs (a container does `pip install .`)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import detectors

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_ships_traces_pages_and_migrations(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                    "-q", "-w", str(tmp_path), str(ROOT)], check=True, timeout=300,
                   capture_output=True)
    [wheel] = tmp_path.glob("firstcall-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "monitor/data/traces/MANIFEST.md" in names
    assert any(n.startswith("monitor/data/traces/LICENSE") for n in names)
    assert sum(n.startswith("monitor/data/traces/cooked_3gp/") for n in names) >= 50
    assert "monitor/desk/static/console.html" in names
    assert "monitor/collect/static/firstcall.js" in names  # served at /sdk/firstcall.js
    assert "outreach/store/migrations/env.py" in names
    assert "outreach/store/migrations/script.py.mako" in names
    assert any(n.startswith("outreach/store/migrations/versions/") and n.endswith(".py")
               for n in names)
    assert "detectors/py.typed" in names
    # The per-event detectors, compiled (with the record of their source) and as source.
    assert "detectors/compiled_from.json" in names
    for module in detectors.COMPILED_MODULES:
        assert f"detectors/{module}.py" in names
        assert any(n.startswith(f"detectors/{module}.") and n.endswith(".so") for n in names)
