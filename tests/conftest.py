"""Fixtures shared by every test folder: Debian's Chromium driven by Playwright.

The live tests (`tests/live/`) and the docassemble corpus in the browser (`tests/corpus/`)
both need one headless Chromium for the session. `.ci/run` installs it; never `playwright
install`; `ACCORD_CHROMIUM` overrides the binary. The helpers of `tests/live/` (`server`,
`browsing`, `drive`) are importable from every test folder.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, sync_playwright

_LIVE = str(Path(__file__).resolve().parent / "live")
if _LIVE not in sys.path:
    sys.path.insert(0, _LIVE)

from browsing import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

from store import secretbox  # noqa: E402

# Stored secrets are encrypted (store/secretbox.py): one key for the whole run, in the environment so
# that the servers and workers the tests start as subprocesses read what the test process wrote.
os.environ.setdefault(secretbox.ENV_KEYS, secretbox.new_key())


@pytest.fixture(autouse=True)
def _secretbox_from_env() -> Iterator[None]:
    """A test that configures another key ring (or calls `accord.serve.prepare`) leaves none behind."""
    yield
    secretbox.configure(None)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install the Debian package 'chromium' (.ci/run does)")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()
