"""documents.render_pdf: the shipped loan agreement rendered from a finished session, checked from
the outside with poppler's pdftotext, qpdf and pyHanko's reader."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import shutil
import subprocess
import time
import unicodedata
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest

import engine
from accord.cli import main
from accord.walk import agreement_session
from documents import RenderedDocument, amortisation, render_pdf, schedule_table, template_path

ROOT = Path(__file__).resolve().parents[2]
LOAN = ROOT / "interviews" / "loan_application.yml"
LEASE = ROOT / "interviews" / "residential_lease.yml"
WHEN = dt.datetime(2026, 8, 1, 9, 30, tzinfo=dt.UTC)
MARKUP = "#set text(red) *bold* <b>x</b> $x$ @ref _it_ = h"
MISSING = [tool for tool in ("pdftotext", "qpdf") if shutil.which(tool) is None]

pytestmark = pytest.mark.skipif(
    bool(MISSING), reason=f"{' and '.join(MISSING)} not installed (Debian: apt-get install poppler-utils qpdf)")


@cache
def finished(path: Path, lang: str) -> tuple[engine.Interview, str]:
    """A session walked to its end with generated answers that makes an agreement (saved as JSON)."""
    iv = engine.load(path)
    return iv, json.dumps(agreement_session(iv, lang).to_json(), default=str)


def loan_source(lang: str, region: str, **answers: object) -> tuple[engine.AgreementSource, engine.State]:
    iv, saved = finished(LOAN, lang)
    state = engine.State.from_json(json.loads(saved))
    state.namespace.update({"applicant_region": region, "language_of_agreement": lang, **answers})
    return engine.assemble(iv, state, day=WHEN.date()), state


def schedule_for(state: engine.State, lang: str) -> dict[str, object]:
    ns = state.namespace
    decimals = int(ns["currency_decimals"])
    rows = amortisation(ns["loan_amount"], ns["estimated_apr"], int(ns["term_months"]), dt.date(2026, 9, 1),
                        decimals=decimals)
    return schedule_table(rows, lang, decimals)


def render_loan(lang: str, region: str, **answers: object) -> tuple[RenderedDocument, engine.AgreementSource]:
    source, state = loan_source(lang, region, **answers)
    doc = render_pdf(source, template_path(LOAN, source.template), extra={"schedule": schedule_for(state, lang)},
                     timestamp=WHEN)
    return doc, source


def pdftext(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "a.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True,
                          text=True, encoding="utf-8").stdout


def flat(text: str) -> str:
    return " ".join(text.split())


CASES = [("vi", "VN-HN", "Nguyễn Thị Hương", "Hà Nội", "Điều", "Trang", "Lịch trả nợ"),
         ("en", "US-CA", "Jane Q. Public", "California", "Article", "Page", "Repayment schedule"),
         ("vi", "VN-SG", "Trần Văn Bình", "Hồ Chí Minh", "Điều", "Trang", "Lịch trả nợ"),
         ("en", "VN-SG", "Tran Van Binh", "Ho Chi Minh City", "Article", "Page", "Repayment schedule"),
         ("vi", "VN", "Lê Thu Trang", "pháp luật Việt Nam", "Điều", "Trang", "Lịch trả nợ"),
         ("en", "US-NY", "John Roe", "State of New York", "Article", "Page", "Repayment schedule"),
         ("vi", "US-NY", "Phạm An", "bang New York", "Điều", "Trang", "Lịch trả nợ"),
         ("en", "default", "Sam Doe", "the state where the Borrower lives", "Article", "Page", "Repayment schedule")]


@pytest.mark.parametrize(("lang", "region", "name", "place", "article", "page", "schedule"), CASES)
def test_loan_agreement_text(lang: str, region: str, name: str, place: str, article: str, page: str, schedule: str,
                             tmp_path: Path) -> None:
    doc, source = render_loan(lang, region, applicant_name=name)
    assert doc.pdf.startswith(b"%PDF-") and doc.sha256 == hashlib.sha256(doc.pdf).hexdigest()
    text = pdftext(doc.pdf, tmp_path)
    assert unicodedata.is_normalized("NFC", text)
    words = flat(text)
    assert name in words
    law = next(c for c in source.clauses if c.id == "governing_law_and_disputes")
    assert law.region == region
    assert f"{article} {law.number}. {law.title}" in words  # the region's clause, numbered, under its title
    assert place in words
    assert f"{page} 1 / {doc.pages}" in words and f"{page} {doc.pages} / {doc.pages}" in words
    assert schedule in words
    if lang == "vi":
        assert "Luật áp dụng và giải quyết tranh chấp" in words and "CHỨNG NHẬN HOÀN TẤT" in words
    else:
        assert "CERTIFICATE OF COMPLETION" in words


@pytest.mark.parametrize(("lang", "region"), [("vi", "VN-HN"), ("en", "US-CA")])
def test_pdf_is_valid_and_has_empty_signature_fields(lang: str, region: str, tmp_path: Path) -> None:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.fields import enumerate_sig_fields

    doc, source = render_loan(lang, region)
    path = tmp_path / "a.pdf"
    path.write_bytes(doc.pdf)
    check = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No syntax or stream encoding errors" in check.stdout

    signing = [p.role for p in source.parties if p.action in ("sign", "approve", "witness")]
    expected = [f"sig_{role}" for role in signing] + ["platform_seal"]
    assert list(doc.signature_fields) == expected
    reader = PdfFileReader(io.BytesIO(doc.pdf))
    found = {name: value for name, value, _ref in enumerate_sig_fields(reader)}
    assert sorted(found) == sorted(expected)
    assert all(value is None for value in found.values())  # nothing signed yet
    assert int(reader.root["/Pages"]["/Count"]) == doc.pages
    # the seal sits on the reserved last page, the parties' fields on the signature page before it
    last = reader.root["/Pages"]["/Kids"][doc.pages - 1].get_object()
    on_last = {str(a.get_object()["/T"]) for a in last.get("/Annots", []) if "/T" in a.get_object()}
    assert on_last == {"platform_seal"}
    xmp = reader.root["/Metadata"].data.decode("utf-8")  # the latest revision's: still PDF/A-2b
    assert re.search(r'pdfaid:part(="|>)2', xmp) and re.search(r'pdfaid:conformance(="|>)B', xmp)
    assert "2026-08-01T09:30:00+00:00" in xmp  # ModifyDate pinned to the timestamp, not the clock


def test_answers_cannot_inject_markup(tmp_path: Path) -> None:
    doc, _source = render_loan("en", "US-CA", applicant_name=f"Ann {MARKUP}")
    words = flat(pdftext(doc.pdf, tmp_path))
    assert f"Ann {MARKUP}" in words


def test_same_source_and_timestamp_give_the_same_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    first, _ = render_loan("vi", "VN-HN")
    time.sleep(1.1)  # a second later (and in another time zone), pyHanko's "now" would differ
    monkeypatch.setenv("TZ", "Asia/Ho_Chi_Minh")
    second, _ = render_loan("vi", "VN-HN")
    assert first.pdf == second.pdf and first.sha256 == second.sha256
    later = render_pdf(*_source_and_template("vi", "VN-HN"), timestamp=WHEN + dt.timedelta(days=1))
    assert later.sha256 != first.sha256


def _source_and_template(lang: str, region: str) -> tuple[engine.AgreementSource, Path]:
    source, _state = loan_source(lang, region)
    return source, template_path(LOAN, source.template)


def test_schedule_totals_in_the_pdf(tmp_path: Path) -> None:
    source, state = loan_source("vi", "VN-HN", loan_amount=50_000_000, currency_decimals=0, estimated_apr=17.5,
                                term_months=24)
    doc = render_pdf(source, template_path(LOAN, source.template), extra={"schedule": schedule_for(state, "vi")},
                     timestamp=WHEN)
    words = flat(pdftext(doc.pdf, tmp_path))
    assert "50.000.000" in words and "01/09/2026" in words and "01/08/2028" in words
    rows = amortisation(50_000_000, 17.5, 24, dt.date(2026, 9, 1), decimals=0)
    assert rows[-1]["balance"] == Decimal(0)


def test_lease_renders(tmp_path: Path) -> None:
    iv, saved = finished(LEASE, "en")
    state = engine.State.from_json(json.loads(saved))
    source = engine.assemble(iv, state, day=WHEN.date())
    doc = render_pdf(source, template_path(LEASE, source.template), timestamp=WHEN)
    assert doc.signature_fields[-1] == "platform_seal"
    assert "sig_tenant" in doc.signature_fields and "sig_landlord" in doc.signature_fields
    words = flat(pdftext(doc.pdf, tmp_path))
    assert source.title.split("—")[0].strip() in words


def test_cli_writes_the_pdf(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _iv, saved = finished(LOAN, "en")
    answers = json.loads(saved)["answers"]
    answers.update({"applicant_region": "US-CA", "language_of_agreement": "en", "applicant_name": "Jane Q. Public"})
    answers_file = tmp_path / "answers.json"
    answers_file.write_text(json.dumps(answers, default=str), encoding="utf-8")
    out = tmp_path / "agreement.pdf"
    args = ["assemble", str(LOAN), "--answers", str(answers_file), "--date", "2026-08-01", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    pdf = out.read_bytes()
    assert pdf.startswith(b"%PDF-")
    assert f"SHA-256: {hashlib.sha256(pdf).hexdigest()}" in printed
    words = flat(pdftext(pdf, tmp_path))
    assert "Jane Q. Public" in words and "Repayment schedule" in words
    assert main(args) == 0  # same answers and date: the same bytes
    assert out.read_bytes() == pdf
    capsys.readouterr()
    md = tmp_path / "agreement.md"
    assert main(args[:-1] + [str(md)]) == 0
    assert md.read_text(encoding="utf-8").startswith("# Loan agreement")


def test_missing_template_is_a_clear_error(tmp_path: Path) -> None:
    from documents import RenderError

    source, _state = loan_source("en", "US-CA")
    with pytest.raises(RenderError, match="does not exist"):
        render_pdf(source, tmp_path / "nope.typ")


def test_missing_fonts_name_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import documents.render
    from documents import RenderError

    monkeypatch.setattr(documents.render, "FONT_DIR", tmp_path / "no-fonts")
    source, _state = loan_source("en", "US-CA")
    with pytest.raises(RenderError, match="fonts-dejavu-core"):
        render_pdf(source, template_path(LOAN, source.template))


ARTIFACTS = ROOT / "artifacts" / "agreements"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm not installed (Debian: poppler-utils)")
@pytest.mark.parametrize(("lang", "region"), [("en", "US-CA"), ("vi", "VN-HN")])
def test_page_images_for_ci(lang: str, region: str) -> None:
    """Every page of the loan agreement as a PNG (60 dpi) in artifacts/agreements/, kept by CI for review."""
    doc, _source = render_loan(lang, region)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    prefix = f"loan_agreement_{lang}_{region}"
    for old in ARTIFACTS.glob(f"{prefix}-*.png"):
        old.unlink()
    pdf = ARTIFACTS / f"{prefix}.pdf"
    pdf.write_bytes(doc.pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(ARTIFACTS / prefix)], check=True,
                   capture_output=True)
    pages = sorted(ARTIFACTS.glob(f"{prefix}-*.png"))
    assert len(pages) == doc.pages
    for page in pages:
        data = page.read_bytes()
        assert len(data) > len(PNG) and data.startswith(PNG), page
