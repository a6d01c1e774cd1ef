"""Debian's Chromium driven by Playwright (never a downloaded browser); screenshots kept."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import BrowserContext, async_playwright

from tests.support.services import service_missing

CHROMIUM = os.environ.get("FIRSTCALL_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"


@asynccontextmanager
async def chromium() -> AsyncIterator[BrowserContext]:
    """Launch the system Chromium headless with a fresh profile (skip/fail if absent)."""
    if not Path(CHROMIUM).exists():
        service_missing("Chromium", f"{CHROMIUM} not found (deploy/dev-system-deps.sh installs it)")
    with tempfile.TemporaryDirectory(prefix="fc-chromium-") as profile:
        async with async_playwright() as pw:
            context = await pw.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, args=ARGS, headless=True,
                viewport={"width": 1400, "height": 1000})
            try:
                yield context
            finally:
                await context.close()


def shot_path(name: str) -> str:
    """Where a screenshot goes (artifacts/browser/<name>.png, git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return str(ARTIFACTS / f"{name}.png")
