"""`accord run --auto` reaches an end screen for every core corpus interview, every harder
one, and both shipped interviews in both languages over several seeds: firms rely on it to
smoke-test their YAML, so it must itself be trustworthy on the whole corpus."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from accord.cli import main

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("ACCORD_SHARED_DIR") or ROOT.parent / "shared")  # CI puts shared/ beside the clone
CORPUS = SHARED / "docassemble_corpus"
CORE = sorted((CORPUS / "core").glob("*.yml"))
HARDER = sorted(p for p in (CORPUS / "harder").glob("*.yml") if p.name != "some-questions.yml")
SHIPPED = sorted((ROOT / "interviews").glob("*.yml"))


def test_the_corpus_is_there() -> None:
    assert len(CORE) == 42 and len(HARDER) == 23 and len(SHIPPED) >= 2


@pytest.mark.parametrize("path", CORE, ids=lambda p: p.name)
def test_core_corpus_walks_to_an_end(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(path), "--auto", "--seed", "1"]) == 0, capsys.readouterr()


@pytest.mark.parametrize("path", HARDER, ids=lambda p: p.name)
def test_harder_corpus_walks_to_an_end(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(path), "--auto", "--seed", "2"]) == 0, capsys.readouterr()


@pytest.mark.parametrize("lang", ["en", "vi"])
@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_interviews_walk_to_an_end(path: Path, lang: str, seed: int,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(path), "--auto", "--seed", str(seed), "--lang", lang]) == 0, capsys.readouterr()
