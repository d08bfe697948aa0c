"""Fixtures for tests against a live `accord serve`: the server, Debian's Chromium driven by
Playwright (`.ci/run` installs it; never `playwright install`; `ACCORD_CHROMIUM` overrides the
binary), a page per test."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from browsing import CHROMIUM, CHROMIUM_ARGS, VIEWPORTS, new_context  # noqa: E402
from server import LiveServer  # noqa: E402

from store.testdb import scratch_database  # noqa: E402


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One `accord serve` for the whole session: SQLite in a temp data dir, or a fresh PostgreSQL
    database under `make test-postgres`."""
    folder = tmp_path_factory.mktemp("live")
    with scratch_database(folder) as url, LiveServer(folder, database_url=url) as server:
        yield server


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


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = new_context(browser)
    page = context.new_page()
    yield page
    context.close()
