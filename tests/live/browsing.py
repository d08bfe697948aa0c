"""Browser helpers shared by the live tests: Debian's Chromium, viewports, screenshots."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page
from server import ROOT

CHROMIUM = os.environ.get("ACCORD_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling Google on this closed network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
ARTIFACTS = ROOT / "artifacts"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}


def new_context(browser: Browser, viewport: str = "desktop", locale: str = "en-GB") -> BrowserContext:
    context = browser.new_context(viewport=VIEWPORTS[viewport], locale=locale,  # type: ignore[arg-type]
                                  is_mobile=viewport == "phone", has_touch=viewport == "phone")
    context.set_default_timeout(10_000)
    return context


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot under artifacts/screenshots/ (kept by CI, linked from the README)."""
    path = ARTIFACTS / "screenshots" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path
