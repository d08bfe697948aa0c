"""docassemble compatibility, core tier: every scenario of core.feature must pass.

Each scenario is docassemble's own behave/Selenium test for one example interview, replayed
through `harness.Browser` (see harness.py). A failure names the step and shows the page text.
"""

from __future__ import annotations

from pathlib import Path

import harness
import pytest

SCENARIOS = harness.parse_feature(harness.CORE_FEATURE)
FILES = harness.corpus_files("core")


def test_corpus_is_complete() -> None:
    assert len(SCENARIOS) == 52
    assert len(FILES) == 42


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_core_file_loads(path: Path) -> None:
    err = harness.load_error(path)
    assert err is None, err


@pytest.mark.parametrize("scenario", SCENARIOS, ids=harness.scenario_ids(SCENARIOS))
def test_core_scenario(scenario: harness.Scenario) -> None:
    harness.run_scenario(scenario)
