"""The HTML preview shows the same assembled clauses as the PDF, marks the regional ones, says
which region rules applied, and escapes answers."""

from __future__ import annotations

import datetime as dt

from documents.preview import preview_html
from engine.assembly import AgreementSource, AssembledClause, AssembledParty


def source(language: str = "en", name: str = "An") -> AgreementSource:
    clauses = (
        AssembledClause(1, "fees", "Fees", "default", 2, dt.date(2026, 7, 1), "Fee paragraph one.\n\nSecond."),
        AssembledClause(2, "law", "Governing law", "VN-HN", 1, dt.date(2024, 1, 1), f"Courts of Hanoi for {name}."),
    )
    parties = (AssembledParty("borrower", "sign", 1, name, "a@example.com", None, None, ("email_code",)),)
    return AgreementSource(title=f"Loan for {name}", template="t.typ", region="VN-HN", date=dt.date(2026, 8, 1),
                           language=language, clauses=clauses, parties=parties)


def test_preview_marks_regional_clauses_and_the_rules_applied() -> None:
    html = preview_html(source())
    assert '<section class="clause clause-regional" id="clause-law"' in html
    assert '<section class="clause" id="clause-fees"' in html
    assert "Region rules applied: VN-HN" in html
    assert "Article 2 (law): specific to VN-HN, version 1, in effect from 2024-01-01" in html
    assert "Article 1 (fees): general terms, version 2, in effect from 2026-07-01" in html
    assert html.count("<p>") == 3


def test_preview_in_vietnamese() -> None:
    html = preview_html(source("vi"))
    assert 'lang="vi"' in html and "Quy định theo khu vực được áp dụng: VN-HN" in html and "Điều 2." in html


def test_answers_cannot_inject_html() -> None:
    html = preview_html(source(name="<script>alert(1)</script>"))
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_preview_shows_the_repayment_schedule_like_the_pdf() -> None:
    from documents import amortisation, schedule_table

    rows = amortisation(12_000_000, 12, 3, source().date, decimals=0)
    html = preview_html(source("vi"), {"schedule": schedule_table(rows, "vi", 0)})
    assert "Lịch trả nợ" in html
    assert html.count("<tr>") == 1 + 3 + 1  # header, one row per instalment, totals
    assert "12.000.000" in html  # the principal total, formatted for Vietnamese
    assert "Lịch trả nợ" not in preview_html(source("vi"))  # no schedule without one
