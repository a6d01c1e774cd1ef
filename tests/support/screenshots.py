"""`make screenshots`: run the browser tests the README's screenshot table names, then keep
the pictures it links as small JPEGs in docs/screenshots/ (committed, so the links work on
a clone; the tests' own PNGs stay in the git-ignored artifacts/browser/).

    python -m tests.support.screenshots            # run the tests, then convert
    python -m tests.support.screenshots --no-run   # convert the PNGs already there

A README link `docs/screenshots/NAME.jpg` is made from `artifacts/browser/NAME.png`;
JPEGs in docs/screenshots/ that the README no longer links are removed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.support.browser import ARTIFACTS, jpeg_copies

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SHOTS = Path("docs/screenshots")
LINK = re.compile(r"\]\((docs/screenshots/[^)\s]+\.jpg)\)")
TEST = re.compile(r"`(tests/[^`]+\.py)`")
BUDGET = 4_000_000  # bytes, all the JPEGs together


def table(readme: str) -> tuple[list[str], list[str]]:
    """The screenshot links (in order) and the test files of the README's table rows.

    A row's test cell names a file, or says "same" for the row above's.
    """
    links: list[str] = []
    tests: list[str] = []
    for line in readme.splitlines():
        found = LINK.findall(line)
        if not line.startswith("|") or not found:
            continue
        links += found
        named = TEST.findall(line.rsplit("|", 2)[-2])
        if named:
            tests += [t for t in named if t not in tests]
        elif not tests:
            raise SystemExit(f"README row without a test: {line}")
    return links, tests


def main(argv: list[str] | None = None) -> int:
    """Run the tests (unless --no-run), convert, report the sizes; 1 when a picture is missing."""
    parser = argparse.ArgumentParser(
        description="The README's screenshots, kept in docs/screenshots/.")
    parser.add_argument("--no-run", action="store_true", help="only convert existing PNGs")
    args = parser.parse_args(argv)
    links, tests = table(README.read_text(encoding="utf-8"))
    if not args.no_run:
        env = {**os.environ, "FIRSTCALL_REQUIRE_SERVICES": "1"}
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               "--timeout=300", *tests], cwd=ROOT, env=env, check=False)
        if done.returncode != 0:
            print(f"screenshots: the tests failed (exit {done.returncode})", file=sys.stderr)
            return 1
    pairs = [(ARTIFACTS / (Path(link).stem + ".png"), ROOT / link) for link in links]
    missing = [str(png) for png, _ in pairs if not png.exists()]
    if missing:
        print("screenshots: not produced by the tests:\n  " + "\n  ".join(missing),
              file=sys.stderr)
        return 1
    asyncio.run(jpeg_copies(pairs))
    linked = {jpg.name for _, jpg in pairs}
    for old in (ROOT / SHOTS).glob("*.jpg"):
        if old.name not in linked:
            old.unlink()
    total = sum(jpg.stat().st_size for _, jpg in pairs)
    print(f"screenshots: {len(pairs)} pictures from {len(tests)} test files in {SHOTS}/, "
          f"{total / 1e6:.2f} MB")
    if total > BUDGET:
        print(f"screenshots: over the {BUDGET / 1e6:.0f} MB budget", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
