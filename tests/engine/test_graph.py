"""The compiled graph answers "what next" on its own for declarative interviews: a full walk of
the shipped loan interview (and docassemble's benchmark loan) raises no undefined-name error at
all. Interviews with loops and gathering (custody.yml) use the dynamic fallback, and still work."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

import engine
from accord.autoanswer import answers_for
from engine.context import STATS

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("ACCORD_SHARED_DIR") or ROOT.parent / "shared")  # beside the clone in CI


def walk(path: Path, seed: int, lang: str = "en") -> int:
    iv = engine.load(path)
    state = iv.start(lang)
    rng = random.Random(seed)
    before = STATS.discoveries
    for _ in range(200):
        step = engine.plan(iv, state)
        if isinstance(step, engine.Done) or step.is_end:
            return STATS.discoveries - before
        for attempt in range(30):
            values, button = answers_for(step, rng, attempt=attempt)
            if not isinstance(engine.apply(iv, state, step, values, button), engine.ValidationErrors):
                break
    raise AssertionError("the walk did not end")


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("lang", ["en", "vi"])
@pytest.mark.parametrize("name", ["loan_application.yml", "residential_lease.yml"])
def test_shipped_walks_need_no_dynamic_discovery(name: str, seed: int, lang: str) -> None:
    assert walk(ROOT / "interviews" / name, seed, lang) == 0


@pytest.mark.parametrize("seed", range(3))
def test_docassemble_benchmark_loan_needs_no_dynamic_discovery(seed: int) -> None:
    assert walk(SHARED / "notes" / "docassemble_bench_loan_application.yml", seed) == 0


def test_custody_uses_the_fallback_and_finishes() -> None:
    custody = SHARED / "docassemble_corpus" / "harder" / "custody.yml"
    assert sum(walk(custody, seed) for seed in range(5)) > 0
