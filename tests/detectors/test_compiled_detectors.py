"""The detectors compiled with mypyc (setup.py) decide exactly as their Python source.

Each check runs in a fresh interpreter, because which build a process uses is
settled when `detectors` is first imported.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import detectors
from tests.support.services import service_missing

ROOT = Path(__file__).resolve().parents[2]

REPLAY = """
import collections, hashlib, json, sys
import orjson
import detectors
from monitor.streaming.assembly import replay_records
with open(sys.argv[1], 'rb') as fh:
    records = replay_records(fh)
lines = b"\\n".join(orjson.dumps(r, option=orjson.OPT_SORT_KEYS) for r in records)
kinds = collections.Counter(f"{r.get('kind', r['record'])}/{r.get('state', '')}" for r in records)
print(json.dumps({"build": detectors.build(), "records": len(records),
                  "sha256": hashlib.sha256(lines).hexdigest(), "kinds": kinds}))
"""


def _python(code: str, *args: str, env: dict[str, str] | None = None,
            cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          timeout=240, env={**os.environ, **(env or {})}, cwd=cwd, check=False)


def _require_compiled() -> None:
    if detectors.build() != "compiled":
        service_missing("the compiled detectors",
                        "no mypyc build in this checkout (pip install -e . with a C compiler)")


@pytest.fixture(scope="module")
def messy_school(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A simulated school with many faults and messy delivery (late, reordered, duplicated)."""
    path = tmp_path_factory.mktemp("school") / "telemetry.jsonl"
    subprocess.run([sys.executable, "-m", "monitor.cli", "simulate", "--out", str(path),
                    "--seed", "11", "--events", "150000", "--fault-scale", "3", "--quiet"],
                   check=True, timeout=240, cwd=ROOT)
    return path


def test_setup_and_the_makefile_compile_exactly_the_listed_modules() -> None:
    """setup.py compiles, and the Makefile rebuilds on, what detectors/__init__ falls back for."""
    wanted = {f"detectors/{name}.py" for name in detectors.COMPILED_MODULES}
    setup = ast.parse((ROOT / "setup.py").read_text())
    [listed] = [ast.literal_eval(node.value) for node in setup.body
                if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "COMPILED"]
    assert set(listed) == wanted and len(listed) == len(wanted)
    make = re.search(r"^COMPILED := (.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert make is not None and set(make.group(1).split()) == wanted


def test_this_checkout_runs_the_compiled_detectors() -> None:
    _require_compiled()
    from detectors import engine, lag

    assert Path(engine.__file__ or "").suffix != ".py"
    assert Path(lag.__file__ or "").suffix != ".py"


def test_compiled_and_source_detectors_give_the_same_records(messy_school: Path) -> None:
    _require_compiled()
    compiled = _python(REPLAY, str(messy_school))
    source = _python(REPLAY, str(messy_school), env={detectors.PURE_ENV: "1"})
    assert compiled.returncode == 0, compiled.stderr
    assert source.returncode == 0, source.stderr
    a, b = json.loads(compiled.stdout), json.loads(source.stdout)
    assert (a["build"], b["build"]) == ("compiled", "python")
    # Every detector had work to do, so the comparison covers all of them.
    for kind in ("lag/open", "lag/closed", "disconnect/open", "disconnect/closed",
                 "flapping/open", "line/open", "outreach/"):
        assert a["kinds"].get(kind, 0) > 0, (kind, a["kinds"])
    assert a["kinds"] == b["kinds"]
    assert (a["records"], a["sha256"]) == (b["records"], b["sha256"])


def test_pure_python_is_used_on_request() -> None:
    got = _python("import detectors, detectors.engine as e; print(detectors.build(), e.__file__)",
                  env={detectors.PURE_ENV: "1"})
    assert got.returncode == 0, got.stderr
    build, path = got.stdout.split()
    assert build == "python" and path.endswith("engine.py")


def test_a_build_older_than_an_edit_is_not_used(tmp_path: Path) -> None:
    """After an edit, the source runs (with a warning) until the package is rebuilt."""
    _require_compiled()
    copy = tmp_path / "detectors"
    shutil.copytree(ROOT / "detectors", copy, ignore=shutil.ignore_patterns("__pycache__"))
    for lib in ROOT.glob("firstcall_detectors__mypyc*"):
        shutil.copy(lib, tmp_path)
    probe = "import detectors, detectors.lag as m; print(detectors.build(), m.__file__)"
    env = {"PYTHONPATH": str(tmp_path)}

    as_built = _python(probe, env=env, cwd=tmp_path)
    assert as_built.returncode == 0, as_built.stderr
    assert as_built.stdout.split()[0] == "compiled"
    assert as_built.stdout.split()[1].startswith(str(copy))

    with (copy / "lag.py").open("a") as fh:
        fh.write("\n# an edit after the build\n")
    edited = _python(probe, env=env, cwd=tmp_path)
    assert edited.returncode == 0, edited.stderr
    assert edited.stdout.split() == ["python", str(copy / "lag.py")]
    assert "built from other source (lag changed since)" in edited.stderr


def test_the_compiled_detectors_need_nothing_from_mypy_at_run_time() -> None:
    """mypy is a build tool: an installed FirstCall runs without it."""
    _require_compiled()
    code = """
import sys
class Block:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.split('.')[0] in ('mypy', 'mypyc', 'librt', 'mypy_extensions'):
            raise ImportError(f'{name} is not available at run time')
        return None
sys.meta_path.insert(0, Block)
import detectors
from detectors.config import DetectionConfig
from detectors.engine import SessionEngine
from tests.support.factory import T0, join, stats
seen = []
engine = SessionEngine(DetectionConfig(), seen.append)
events = [join('s1', ts=T0)] + [stats('s1', ts=T0 + 2000 * k, bad=True) for k in range(1, 8)]
engine.feed_batch(events)
print(detectors.build(), [(i.kind, i.state) for i in seen])
"""
    got = _python(code)
    assert got.returncode == 0, got.stderr
    assert got.stdout.strip() == "compiled [('lag', 'open')]"
