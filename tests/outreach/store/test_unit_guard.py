"""Every store call joins a poll's batch: no module of outreach/store opens its own connection."""

from __future__ import annotations

import re
from pathlib import Path

import outreach.store

STORE = Path(outreach.store.__file__).parent
OWN_CONNECTION = re.compile(r"\.(begin|connect)\(\)")
# db.py migrates (before any batch), notices.py keeps its LISTEN connection, unit.py is the seam
ALLOWED = {"db.py", "notices.py", "unit.py"}


def test_store_modules_take_their_connections_from_the_unit_of_work() -> None:
    """A store call that opened its own connection in a batch would miss its writes or hang."""
    offenders = [
        f"{path.relative_to(STORE)}:{n}: {line.strip()}"
        for path in sorted(STORE.rglob("*.py"))
        if path.name not in ALLOWED and "migrations" not in path.parts
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OWN_CONNECTION.search(line)
    ]
    assert offenders == [], "use outreach.store.unit.tx()/read():\n" + "\n".join(offenders)
