"""The shipped interviews assemble real agreements from the shipped clause libraries: the most
specific region's clause, the version in effect on the date, both languages, every placeholder
filled."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path

import pytest

import engine
from accord.walk import agreement_session

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = {"loan": ("loan_application.yml", "applicant_region"), "lease": ("residential_lease.yml", "property_region")}


@cache
def finished(kind: str, lang: str) -> tuple[engine.Interview, dict[str, object]]:
    """A session walked to its end with generated answers, that makes an agreement."""
    iv = engine.load(ROOT / "interviews" / SHIPPED[kind][0])
    return iv, agreement_session(iv, lang).to_json()


def assembled(kind: str, lang: str, region: str, day: dt.date, **answers: object) -> engine.AgreementSource:
    iv, saved = finished(kind, lang)
    state = engine.State.from_json(saved)
    state.namespace[SHIPPED[kind][1]] = region
    state.namespace["language_of_agreement"] = lang
    state.namespace.update(answers)
    return engine.assemble(iv, state, day=day)


@pytest.mark.parametrize("lang", ["en", "vi"])
@pytest.mark.parametrize(("region", "expected"), [("VN-HN", "VN-HN"), ("VN-SG", "VN-SG"), ("VN-DN", "VN"),
                                                   ("VN", "VN"), ("US-CA", "US-CA"), ("US-NY", "US-NY"),
                                                   ("US-TX", "default"), ("default", "default")])
@pytest.mark.parametrize("kind", ["loan", "lease"])
def test_most_specific_region_and_every_placeholder_filled(kind: str, region: str, expected: str, lang: str) -> None:
    source = assembled(kind, lang, region, dt.date(2026, 8, 1))
    law = next(c for c in source.clauses if c.id == "governing_law_and_disputes")
    assert law.region == expected
    assert [c.number for c in source.clauses] == list(range(1, len(source.clauses) + 1))
    for clause in source.clauses:
        assert clause.text and "${" not in clause.text and "{{" not in clause.text
    assert source.language == lang
    if lang == "vi":
        assert any(ch in law.text for ch in "ạảấầậắằẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹđ")


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_versions_follow_the_agreement_date(lang: str) -> None:
    before = assembled("loan", lang, "VN-HN", dt.date(2026, 6, 30))
    after = assembled("loan", lang, "VN-HN", dt.date(2026, 7, 1))
    assert {c.id: c.version for c in before.clauses}["late_payment"] == 1
    assert {c.id: c.version for c in after.clauses}["late_payment"] == 2
    early = assembled("loan", lang, "VN", dt.date(2024, 3, 1))
    assert {c.id: c.version for c in early.clauses}["esignature_consent"] == 1
    ca_before = assembled("lease", lang, "US-CA", dt.date(2024, 6, 30))
    ca_after = assembled("lease", lang, "US-CA", dt.date(2024, 7, 1))
    assert {c.id: c.version for c in ca_before.clauses}["rent_and_deposit"] == 1
    assert {c.id: c.version for c in ca_after.clauses}["rent_and_deposit"] == 2


def test_conditional_clauses_follow_the_answers() -> None:
    with_co = assembled("loan", "en", "VN", dt.date(2026, 1, 1), has_co_applicant=True, co_applicant_name="Binh",
                        co_applicant_email="binh@example.com", co_applicant_phone="0912345678",
                        co_applicant_relationship="spouse")
    alone = assembled("loan", "en", "VN", dt.date(2026, 1, 1), has_co_applicant=False)
    assert "co_applicant_liability" in [c.id for c in with_co.clauses]
    assert "co_applicant_liability" not in [c.id for c in alone.clauses]
    assert [p.role for p in with_co.parties][:2] == ["applicant", "co_applicant"]


def test_the_record_names_every_clause_version() -> None:
    source = assembled("lease", "vi", "VN-SG", dt.date(2026, 1, 1))
    assert [r["id"] for r in source.clause_record] == [c.id for c in source.clauses]
    assert all(r["language"] == "vi" and r["version"] >= 1 for r in source.clause_record)
