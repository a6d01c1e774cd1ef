"""Debian's Chromium driven by Playwright (never a downloaded browser); screenshots kept.

Screenshots go to artifacts/browser/ (git-ignored); `make screenshots` turns the ones the
README links into small JPEGs under docs/screenshots/ with `jpeg_copy`.
"""

from __future__ import annotations

import base64
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


async def jpeg_copies(pairs: list[tuple[Path, Path]], width: int = 1000,
                      quality: int = 70) -> None:
    """Smaller JPEGs of PNG screenshots (png -> jpg), drawn and encoded by Chromium.

    Each picture is scaled down to `width` CSS pixels (never enlarged) at device scale 1;
    no imaging library is needed.
    """
    async with chromium() as browser:
        page = await browser.new_page()
        await page.set_viewport_size({"width": width, "height": 800})
        for png, jpg in pairs:
            data = base64.b64encode(png.read_bytes()).decode()
            await page.set_content(
                "<style>html,body{margin:0;background:#fff}img{display:block;max-width:100%}"
                f'</style><img src="data:image/png;base64,{data}">')
            img = page.locator("img")
            await img.evaluate("(i) => i.decode()")
            jpg.parent.mkdir(parents=True, exist_ok=True)
            await img.screenshot(path=str(jpg), type="jpeg", quality=quality)
