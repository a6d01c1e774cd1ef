"""The README's links work on a clone: every relative link names a file in the repository,
and every picture it links (the screenshots) is committed, not only in an ignored folder."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\(([^)\s]+)\)")
PICTURE = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp")


def relative_links() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [t.split("#", 1)[0] for t in LINK.findall(text)
            if not re.match(r"[a-z]+:", t) and not t.startswith("#")]


def test_every_relative_link_in_the_readme_names_a_file_in_the_repository() -> None:
    links = relative_links()
    assert any(t.startswith("docs/screenshots/") for t in links)
    assert [t for t in links if not (ROOT / t).exists()] == []


def test_every_picture_the_readme_links_is_committed_and_none_is_left_unlinked() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    pictures = sorted({t for t in relative_links() if t.lower().endswith(PICTURE)})
    tracked = set(subprocess.run(["git", "ls-files", "--", *pictures], cwd=ROOT, check=True,
                                 capture_output=True, text=True).stdout.split())
    assert [p for p in pictures if p not in tracked] == []
    kept = subprocess.run(["git", "ls-files", "--", "docs/screenshots"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.split()
    assert sorted(set(kept) - set(pictures)) == []
