"""docassemble compatibility, core tier, in the browser: every scenario of core.feature passes
through the real wizard.

One `accord serve` for the module, its demo firm seeded with the 42 core interviews (each at
`/i/{name}`), one Chromium for the session and a fresh browser context (cookies, storage) per
scenario. The steps act on the page only (see `web_runner.py`); a failure names the step,
shows the page's text and the pages visited, and leaves a screenshot in artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import harness
import httpx
import pytest
import web_runner
from browsing import new_context, screenshot
from playwright.sync_api import Browser
from server import LiveServer

SCENARIOS = harness.parse_feature(harness.CORE_FEATURE)
IDS = harness.scenario_ids(SCENARIOS)
FILES = harness.corpus_files("core")


@pytest.fixture(scope="module")
def corpus_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with web_runner.corpus_server(tmp_path_factory.mktemp("corpus-live")) as server:
        yield server


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_core_interview_is_published(corpus_live: LiveServer, path: Path) -> None:
    """Every core interview is on the demo firm: a file that failed to load shows up here."""
    response = httpx.get(f"{corpus_live.url}/i/{path.stem}", follow_redirects=False, timeout=10)
    assert response.status_code == 303, web_runner.unpublished(corpus_live, path) or response.status_code


@pytest.mark.parametrize("scenario", SCENARIOS, ids=IDS)
def test_core_scenario_in_chromium(browser: Browser, corpus_live: LiveServer, scenario: harness.Scenario,
                                   request: pytest.FixtureRequest) -> None:
    context = new_context(browser)
    try:
        web_runner.run_scenario(scenario, context, corpus_live.url)
    except AssertionError:
        for n, page in enumerate(context.pages):
            screenshot(page, f"corpus-{request.node.callspec.id}-{n}".replace("/", "_"))
        raise
    finally:
        context.close()
