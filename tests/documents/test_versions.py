"""documents.diff_agreements and `accord assemble --compare`, on the shipped loan clause library
(interviews/clauses/loan)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from functools import cache
from pathlib import Path

import pytest

import engine
from accord.cli import main
from accord.walk import agreement_session
from documents import diff_agreements

ROOT = Path(__file__).resolve().parents[2]
LOAN = ROOT / "interviews" / "loan_application.yml"
DAY = dt.date(2026, 8, 1)


@cache
def finished(lang: str) -> tuple[engine.Interview, str]:
    """A loan session walked to its end with generated answers that makes an agreement (as JSON)."""
    iv = engine.load(LOAN)
    return iv, json.dumps(agreement_session(iv, lang).to_json(), default=str)


def assembled(lang: str, region: str, day: dt.date = DAY, **answers: object) -> engine.AgreementSource:
    iv, saved = finished(lang)
    state = engine.State.from_json(json.loads(saved))
    state.namespace.update({"applicant_region": region, "language_of_agreement": lang, **answers})
    return engine.assemble(iv, state, day=day)


def test_same_agreement_has_no_changes() -> None:
    assert diff_agreements(assembled("en", "VN"), assembled("en", "VN")) == []


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_loan_amount_changes_only_the_interest_clause(lang: str) -> None:
    old = assembled(lang, "VN", loan_amount=50_000_000, currency_code="VND", currency_decimals=0)
    new = assembled(lang, "VN", loan_amount=80_000_000, currency_code="VND", currency_decimals=0)
    changes = diff_agreements(old, new)
    assert [(c.kind, c.id) for c in changes] == [("changed", "interest_and_fees")]
    change = changes[0]
    assert (change.old_region, change.old_version) == (change.new_region, change.new_version) == ("VN", 1)
    lines = change.diff.splitlines()
    assert lines[0].startswith("--- old/interest_and_fees (VN v1)")
    assert any(line.startswith("-") and "50" in line for line in lines[2:])
    assert any(line.startswith("+") and "80" in line for line in lines[2:])


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_region_vn_to_hanoi_changes_only_governing_law(lang: str) -> None:
    old, new = assembled(lang, "VN"), assembled(lang, "VN-HN")
    changes = diff_agreements(old, new)
    assert [(c.kind, c.id) for c in changes] == [("changed", "governing_law_and_disputes")]
    change = changes[0]
    assert (change.old_region, change.new_region) == ("VN", "VN-HN")
    assert (change.old_version, change.new_version) == (1, 1)
    library = ROOT / "interviews" / "clauses" / "loan"
    assert (library / f"governing_law_and_disputes.VN-HN.{lang}.v1.md").is_file()
    assert (library / f"governing_law_and_disputes.VN.{lang}.v1.md").is_file()
    law = next(c for c in new.clauses if c.id == "governing_law_and_disputes")
    assert change.new_number == law.number and change.diff


def test_version_change_by_date() -> None:
    old = assembled("en", "VN", dt.date(2026, 6, 30))
    new = assembled("en", "VN", dt.date(2026, 7, 1))
    late = next(c for c in diff_agreements(old, new) if c.id == "late_payment")
    assert (late.kind, late.old_version, late.new_version) == ("changed", 1, 2)


def test_added_and_removed_clauses_keep_their_place() -> None:
    old = assembled("en", "VN")
    dropped = old.clauses[1]
    new = dataclasses.replace(old, clauses=tuple(c for c in old.clauses if c.id != dropped.id))
    assert [(c.kind, c.id, c.old_number, c.new_number) for c in diff_agreements(old, new)] == [
        ("removed", dropped.id, 2, None)]
    back = diff_agreements(new, old)
    assert [(c.kind, c.id) for c in back] == [("added", dropped.id)]
    assert back[0].diff.startswith("--- old\n+++ new/")


def test_cli_compare(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _iv, saved = finished("en")
    base = json.loads(saved)["answers"]
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps({**base, "applicant_region": "VN", "language_of_agreement": "en"}, default=str))
    second.write_text(json.dumps({**base, "applicant_region": "VN-HN", "language_of_agreement": "en"}, default=str))
    args = ["assemble", str(LOAN), "--answers", str(first), "--date", "2026-08-01", "--compare"]
    assert main(args + [str(second)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"1 clause changes from {first} to {second}:")
    assert "changed: governing_law_and_disputes (region VN version 1 → region VN-HN version 1)" in out
    assert "--- old/governing_law_and_disputes (VN v1)" in out
    assert main(args + [str(first), "--lang", "vi"]) == 0
    assert capsys.readouterr().out.startswith("không có thay đổi điều khoản nào")
    assert main(args + [str(tmp_path / "missing.json")]) == 1
