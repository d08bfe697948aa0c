"""What both corpus runners share: the feature files, their scenarios and the step vocabulary.

docassemble's behave suite drives a live server through Selenium with a few dozen step
sentences. Here every sentence the corpus uses is matched once, to the name of an action
and its arguments; a runner is any object with those methods. Two runners exist:
`harness.Browser` (the engine driven directly, a model of the page) and
`web_runner.WebPage` (the real wizard in Chromium through Playwright). A step no pattern
matches, or an action a runner lacks, fails loudly.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

SHARED = Path(os.environ.get("ACCORD_SHARED_DIR") or Path(__file__).resolve().parents[3] / "shared")  # beside the clone
CORPUS = SHARED / "docassemble_corpus"
CORE_FEATURE = CORPUS / "core.feature"
HARDER_FEATURE = CORPUS / "harder.feature"


class StepFailed(AssertionError):
    """A step could not be carried out or its expectation did not hold."""


# -- feature files ---------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    steps: list[str]
    feature: str
    line: int
    tier: str = ""

    @property
    def interview(self) -> str | None:
        for step in self.steps:
            m = START.match(step)
            if m:
                return m.group(1)
        return None


_KEYWORD = re.compile(r"^(Given|When|Then|And|But)\s+")


def parse_feature(path: Path | str) -> list[Scenario]:
    """Scenarios of a Gherkin file: name and steps (keyword stripped). No outlines/tables needed."""
    path = Path(path)
    scenarios: list[Scenario] = []
    current: Scenario | None = None
    tier = path.stem
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("Scenario:"):
            current = Scenario(line[len("Scenario:"):].strip(), [], path.name, lineno, tier)
            scenarios.append(current)
            continue
        if line.startswith(("Feature:", "Background:")):
            current = None
            continue
        m = _KEYWORD.match(line)
        if m and current is not None:
            current.steps.append(line[m.end():])
    return scenarios


def scenario_ids(scenarios: list[Scenario]) -> list[str]:
    """Unique, readable pytest ids from the scenario names."""
    seen: dict[str, int] = {}
    ids = []
    for sc in scenarios:
        base = re.sub(r"^Test the interview ", "", sc.name)
        base = re.sub(r"[^\w/.-]+", "-", base).strip("-") or "scenario"
        n = seen.get(base, 0)
        seen[base] = n + 1
        ids.append(base if n == 0 else f"{base}-{n + 1}")
    return ids


def resolve_interview(ref: str) -> Path:
    """`docassemble.base:data/questions/examples/X.yml` (or a demo path) -> core/X.yml or harder/X.yml."""
    name = ref.rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    for tier in ("core", "harder"):
        candidate = CORPUS / tier / name
        if candidate.exists():
            return candidate
    raise StepFailed(f"interview {ref!r} is not in the corpus")


def corpus_files(tier: str) -> list[Path]:
    return sorted((CORPUS / tier).glob("*.yml"))


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# -- the step vocabulary ---------------------------------------------------------------------

START = re.compile(r'I start the interview "([^"]+)"$')

# (sentence, action): the action is a method name of the runner, called with the groups.
STEPS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r'I should see the phrase "(.*)"$'), "see"),
    (re.compile(r'I should not see the phrase "(.*)"$'), "not_see"),
    (re.compile(r'I set the text box to "(.*)"$'), "set_text_box"),
    (re.compile(r'I set "(.*)" to "(.*)"$'), "set_field"),
    (re.compile(r'I click the button "(.*)"$'), "click_button"),
    (re.compile(r'I click the "(.*)" option under "(.*)"$'), "click_option"),
    (re.compile(r'I click the option "(.*)" under "(.*)"$'), "click_option"),
    (re.compile(r'I click the "(.*)" option$'), "click_option"),
    (re.compile(r'I click the option "(.*)"$'), "click_option"),
    (re.compile(r'I select "(.*)" as the "(.*)"$'), "select"),
    (re.compile(r'I click the link "(.*)"$'), "click_link"),
    (re.compile(r"I unfocus$"), "unfocus"),
    (re.compile(r"I wait (\S+) seconds?$"), "wait"),
    (re.compile(r"I click inside the signature area$"), "sign"),
    (re.compile(r"I click the back button$"), "back"),
]


def match_step(step: str) -> tuple[str, tuple[str, ...]]:
    """The action and arguments of a step sentence; StepFailed if the vocabulary lacks it."""
    for pattern, action in STEPS:
        m = pattern.match(step)
        if m:
            return action, m.groups()
    raise StepFailed(f"unknown step: {step}")


class Runner(Protocol):
    """What a runner offers besides the actions of STEPS: the recent history, for failures."""

    def trace_lines(self) -> list[str]: ...


def run_steps(scenario: Scenario, start: Callable[[str], Any]) -> Any:
    """Run every step of `scenario`; `start(ref)` opens the interview and returns the runner.

    Raises StepFailed (an AssertionError) naming the step that failed, with the runner's trace."""
    runner: Any = None
    for n, step in enumerate(scenario.steps, 1):
        try:
            m = START.match(step)
            if m:
                runner = start(m.group(1))
                continue
            if runner is None:
                raise StepFailed("no interview started")
            action, args = match_step(step)
            method = getattr(runner, action, None)
            if method is None:
                raise StepFailed(f"this runner cannot {action!r}")
            method(*args)
        except StepFailed as exc:
            raise StepFailed(f"step {n} `{step}`: {exc}" + _trace(runner)) from None
        except Exception as exc:  # engine or browser errors: report them against the step
            raise StepFailed(f"step {n} `{step}`: {type(exc).__name__}: {exc}" + _trace(runner)) from exc
    if runner is None:
        raise StepFailed("the scenario starts no interview")
    return runner


def _trace(runner: Any) -> str:
    lines = runner.trace_lines() if runner is not None else []
    if not lines:
        return ""
    return "\n  trace:\n    " + "\n    ".join(lines[-12:])


@dataclass
class Outcome:
    scenario: Scenario
    passed: bool
    reason: str = ""
    step_no: int = 0


def outcome_of(scenario: Scenario, run: Callable[[Scenario], Any]) -> Outcome:
    """PASS, or FAIL with the failing step's number and reason (for reports)."""
    try:
        run(scenario)
    except AssertionError as exc:
        msg = str(exc)
        m = re.match(r"step (\d+)", msg)
        return Outcome(scenario, False, msg, int(m.group(1)) if m else 0)
    return Outcome(scenario, True)
