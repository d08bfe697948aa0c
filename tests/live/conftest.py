"""Fixtures for tests against a live `accord serve`: the server and a page per test. The
session's Chromium (`playwright`, `browser`) comes from `tests/conftest.py`, shared with the
corpus tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from browsing import VIEWPORTS, new_context  # noqa: E402
from server import LiveServer  # noqa: E402
from smtp_inbox import Inbox  # noqa: E402

from store.testdb import scratch_database  # noqa: E402


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One `accord serve` for the whole session: SQLite in a temp data dir, or a fresh PostgreSQL
    database under `make test-postgres`."""
    folder = tmp_path_factory.mktemp("live")
    with scratch_database(folder) as url, LiveServer(folder, database_url=url) as server:
        yield server


@pytest.fixture(scope="module")
def inbox() -> Iterator[Inbox]:
    """A real SMTP server on loopback for the module's tests."""
    with Inbox() as box:
        yield box


@pytest.fixture(scope="module")
def mail_live(tmp_path_factory: pytest.TempPathFactory, inbox: Inbox) -> Iterator[LiveServer]:
    """An `accord serve` of the module's own that sends its e-mail to `inbox`, links to itself."""
    folder = Path(tmp_path_factory.mktemp("live-mail"))
    with scratch_database(folder) as url:
        server = LiveServer(folder, database_url=url, env={
            "ACCORD_SMTP_HOST": "127.0.0.1", "ACCORD_SMTP_PORT": str(inbox.port),
            "ACCORD_MAIL_FROM": "accord@test.invalid"})
        server.env["ACCORD_PUBLIC_URL"] = server.url
        with server:
            yield server


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = new_context(browser)
    page = context.new_page()
    yield page
    context.close()
