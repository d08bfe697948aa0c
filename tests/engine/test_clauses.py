"""The clause library: files checked, clauses chosen by region, date and language, agreements
assembled from a finished session."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import engine
from engine import clauses

INTERVIEW = """
metadata:
  languages: [en, vi]
---
question: Name, region, amount
fields:
  - Name: name
  - Region: region
  - Amount: amount
    datatype: currency
  - Co-borrower?: has_co
    datatype: yesnoradio
---
mandatory: True
code: |
  name
  final
---
event: final
question: Done
---
agreement:
  template: templates/loan.typ
  clauses: clauses
  region: region
  date: today()
  title: Loan for ${ name }
---
parties:
  - role: borrower
    name: name
    email: "'b@example.com'"
    order: 1
---
payment:
  amount: amount / 100
  currency: VND
  description: Fee for ${ name }
"""


def clause(folder: Path, cid: str, region: str, lang: str, version: int, body: str, *, start: str = "2024-01-01",
           until: str | None = None, order: int = 10, required: bool = True, condition: str | None = None) -> Path:
    lines = ["---", f"id: {cid}", f"title: {cid.title()} ({lang})", f"region: {region}", f"language: {lang}",
             f"version: {version}", f"effective_from: {start}", f"order: {order}", f"required: {str(required).lower()}"]
    if until:
        lines.append(f"effective_until: {until}")
    if condition:
        lines.append(f"if: {condition}")
    path = folder / f"{cid}.{region}.{lang}.v{version}.md"
    path.write_text("\n".join([*lines, "---", body, ""]), encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "loan.yml").write_text(INTERVIEW, encoding="utf-8")
    lib = tmp_path / "clauses"
    lib.mkdir()
    for lang in ("en", "vi"):
        clause(lib, "law", "default", lang, 1, f"[{lang}] default law", order=20)
        clause(lib, "law", "VN", lang, 1, f"[{lang}] Vietnamese law", order=20)
        clause(lib, "law", "VN-HN", lang, 1, f"[{lang}] Hanoi courts", order=20)
        clause(lib, "fees", "default", lang, 1, f"[{lang}] fee ${{ currency(amount) }}", until="2026-07-01")
        clause(lib, "fees", "default", lang, 2, f"[{lang}] new fee ${{ currency(amount) }}", start="2026-07-01")
        clause(lib, "co", "default", lang, 1, f"[{lang}] co-borrower", order=30, required=False, condition="has_co")
    return tmp_path


def finished(iv: engine.Interview, region: str, has_co: bool, lang: str = "en") -> engine.State:
    state = iv.start(lang)
    screen = engine.plan(iv, state)
    assert isinstance(screen, engine.Screen)
    result = engine.apply(iv, state, screen, {"name": "An", "region": region, "amount": "1000",
                                              "has_co": str(has_co)})
    assert isinstance(result, engine.State)
    return state


def test_library_checks_clean(project: Path) -> None:
    iv = engine.load(project / "loan.yml")
    assert engine.check_clauses(iv) == []


def test_most_specific_region_then_version_in_effect(project: Path) -> None:
    lib = clauses.load_library(project / "clauses")
    pick = {c.id: (c.region, c.version) for c in clauses.select(lib, "VN-HN", dt.date(2026, 1, 1), "en")}
    assert pick == {"fees": ("default", 1), "law": ("VN-HN", 1), "co": ("default", 1)}
    pick = {c.id: (c.region, c.version) for c in clauses.select(lib, "VN-SG", dt.date(2026, 7, 1), "vi")}
    assert pick == {"fees": ("default", 2), "law": ("VN", 1), "co": ("default", 1)}
    assert [c.id for c in clauses.select(lib, "US-CA", dt.date(2025, 1, 1), "en")] == ["fees", "law", "co"]


def test_assemble_a_finished_session(project: Path) -> None:
    iv = engine.load(project / "loan.yml")
    state = finished(iv, "VN-HN", has_co=False)
    source = engine.assemble(iv, state, day=dt.date(2026, 8, 1))
    assert source.title == "Loan for An" and source.region == "VN-HN" and source.language == "en"
    assert [(c.number, c.id, c.region, c.version) for c in source.clauses] == [(1, "fees", "default", 2),
                                                                               (2, "law", "VN-HN", 1)]
    assert source.clauses[0].text == "[en] new fee $1,000.00"
    assert source.clause_record[0] == {"id": "fees", "region": "default", "version": 2, "language": "en",
                                       "effective_from": "2026-07-01"}
    assert source.parties[0].email == "b@example.com"
    assert source.payment == {"amount": 10.0, "currency": "VND", "payer": None, "when": "before signing",
                              "description": "Fee for An"}
    with_co = engine.assemble(iv, finished(iv, "US-NY", has_co=True, lang="vi"), day=dt.date(2025, 1, 1))
    assert [c.id for c in with_co.clauses] == ["fees", "law", "co"]
    assert with_co.clauses[1].text == "[vi] default law"


def test_assemble_refuses_an_unfinished_session(project: Path) -> None:
    iv = engine.load(project / "loan.yml")
    with pytest.raises(engine.InterviewError, match="has not answered"):
        engine.assemble(iv, iv.start())


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda lib: clause(lib, "fees", "default", "en", 3, "x", start="2026-01-01"), "overlaps version"),
        (lambda lib: clause(lib, "extra", "VN", "en", 1, "x"), "has no default version in en"),
        (lambda lib: clause(lib, "extra", "default", "en", 1, "x", required=False), "but [] in vi"),
        (lambda lib: clause(lib, "law", "US-CA", "en", 1, "${ ghost }") and clause(
            lib, "law", "US-CA", "vi", 1, "x"), "reads 'ghost', but the interview never defines it"),
        (lambda lib: clause(lib, "bad", "Hanoi", "en", 1, "x"), "region 'Hanoi' must be default"),
        (lambda lib: (lib / "law.default.en.v9.md").write_text("no front matter"), "starts with front matter"),
        (lambda lib: clause(lib, "odd", "default", "en", 1, "% if x") and None, "Unexpected end of template"),
    ],
)
def test_library_problems(project: Path, setup: object, message: str) -> None:
    setup(project / "clauses")  # type: ignore[operator]
    iv = engine.load(project / "loan.yml")
    found = [str(p) for p in engine.check_clauses(iv)]
    assert any(message in p for p in found), found


def test_misnamed_file(project: Path) -> None:
    path = clause(project / "clauses", "law", "US-NY", "en", 1, "x")
    path.rename(project / "clauses" / "law.US-NY.en.v2.md")
    found = [str(p) for p in engine.check_clauses(engine.load(project / "loan.yml"))]
    assert any("should be named law.US-NY.en.v1.md" in p for p in found)


def test_check_command_reports_clause_problems(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from accord.cli import main

    clause(project / "clauses", "extra", "VN", "en", 1, "x")
    assert main(["check", str(project / "loan.yml")]) == 1
    assert "required clause extra has no default version in en" in capsys.readouterr().err


def test_amounts_format_in_the_agreement_language_not_the_session_language(project: Path) -> None:
    english = "  title: Loan for ${ name }\n  language: \"'en'\""
    text = (project / "loan.yml").read_text(encoding="utf-8").replace("  title: Loan for ${ name }", english)
    (project / "loan.yml").write_text(text, encoding="utf-8")
    iv = engine.load(project / "loan.yml")
    source = engine.assemble(iv, finished(iv, "US-CA", has_co=False, lang="vi"), day=dt.date(2026, 8, 1))
    assert source.language == "en" and source.clauses[0].text == "[en] new fee $1,000.00"
