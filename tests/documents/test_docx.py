"""documents.render_docx / docx_to_pdf and `accord assemble` with a Word template: the sample
template (interviews/templates/loan_agreement.docx) rendered from a finished loan session and read
back with python-docx. The PDF conversion runs only where LibreOffice is installed."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import docx
import pytest

import engine
from accord.cli import main
from accord.walk import agreement_session
from documents import RenderError, docx_to_pdf, render_docx
from documents.make_sample_docx import build

ROOT = Path(__file__).resolve().parents[2]
LOAN = ROOT / "interviews" / "loan_application.yml"
TEMPLATE = ROOT / "interviews" / "templates" / "loan_agreement.docx"
DAY = dt.date(2026, 8, 1)
LIBREOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
NEEDS_LIBREOFFICE = pytest.mark.skipif(
    LIBREOFFICE is None, reason="LibreOffice not installed (Debian: apt-get install libreoffice-writer-nogui)")


@cache
def finished_answers() -> str:
    """Answers (JSON) of a generated loan session that makes an agreement."""
    return json.dumps(agreement_session(engine.load(LOAN), "en").to_json()["answers"], default=str)


def answers(lang: str = "en", region: str = "US-CA", **extra: object) -> dict[str, object]:
    data = json.loads(finished_answers())
    data.update({"applicant_region": region, "language_of_agreement": lang, **extra})
    return data


def source_for(lang: str = "en", region: str = "US-CA", **extra: object) -> tuple[engine.AgreementSource,
                                                                                  engine.State]:
    state = engine.State.from_json({"answers": answers(lang, region, **extra), "lang": lang})
    return engine.assemble(engine.load(LOAN), state, day=DAY), state


def text_of(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def test_sample_template_is_current(tmp_path: Path) -> None:
    """The committed .docx is what `python -m documents.make_sample_docx` writes (same document text)."""
    fresh = build(tmp_path / "t.docx")
    assert text_of(fresh.read_bytes()) == text_of(TEMPLATE.read_bytes())
    for tag in ("{%p for p in parties %}", "{%tr for r in schedule %}", "{%p for c in clauses %}"):
        assert tag in text_of(TEMPLATE.read_bytes())


@pytest.mark.parametrize(("lang", "region", "name", "article"), [("en", "US-CA", "Jane Q. Public", "Article"),
                                                                  ("vi", "VN-HN", "Nguyễn Thị Hương", "Điều")])
def test_docx_has_the_name_the_clauses_and_the_schedule(lang: str, region: str, name: str, article: str) -> None:
    from documents.schedule import schedule_extra

    source, state = source_for(lang, region, applicant_name=name)
    data = render_docx(source, TEMPLATE, extra=schedule_extra(state.namespace, source))
    assert data.startswith(b"PK")
    document = docx.Document(io.BytesIO(data))
    paragraphs = [p.text for p in document.paragraphs]
    assert any(name in p for p in paragraphs)
    for clause in source.clauses:
        assert f"{article} {clause.number}. {clause.title}" in paragraphs
        for block in clause.text.split("\n\n"):
            words = " ".join(block.split())
            assert any(words == " ".join(p.split()) for p in paragraphs), words[:60]
    assert not any("{{" in p or "{%" in p for p in paragraphs)
    schedule = document.tables[0]
    rows = schedule_extra(state.namespace, source)["schedule"]["rows"]
    assert len(schedule.rows) == 1 + len(rows) + 1  # header, one row per instalment, totals
    assert schedule.rows[1].cells[0].text == "1" and schedule.rows[-2].cells[0].text == str(len(rows))
    assert document.core_properties.title == source.title


def test_answers_with_template_syntax_stay_data() -> None:
    tricky = "Ann {{ 7*7 }} {% if true %}X{% endif %} {%p endfor %} <w:br/> & \x07bell"
    source, _state = source_for(applicant_name=tricky)
    paragraphs = [p.text for p in docx.Document(io.BytesIO(render_docx(source, TEMPLATE))).paragraphs]
    expected = "Ann {{ 7*7 }} {% if true %}X{% endif %} {%p endfor %} <w:br/> & bell"
    assert any(expected in p for p in paragraphs)
    assert not any("49" in p for p in paragraphs if "Ann" in p)


def test_missing_or_bad_template(tmp_path: Path) -> None:
    source, _state = source_for()
    with pytest.raises(RenderError, match="does not exist"):
        render_docx(source, tmp_path / "nope.docx")
    bad = tmp_path / "bad.docx"
    document = docx.Document()
    document.add_paragraph("{{ no_such_name }}")
    document.save(str(bad))
    with pytest.raises(RenderError, match="no_such_name"):
        render_docx(source, bad)


def test_missing_libreoffice_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    with pytest.raises(RenderError) as raised:
        docx_to_pdf(b"PK")
    message = str(raised.value)
    assert "LibreOffice" in message and "soffice" in message and "libreoffice-writer-nogui" in message


@NEEDS_LIBREOFFICE
def test_docx_to_pdf(tmp_path: Path) -> None:
    source, _state = source_for(applicant_name="Jane Q. Public")
    pdf = docx_to_pdf(render_docx(source, TEMPLATE))
    assert pdf.startswith(b"%PDF-")
    if shutil.which("pdftotext"):
        path = tmp_path / "a.pdf"
        path.write_bytes(pdf)
        text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True, text=True).stdout
        assert "Jane Q. Public" in " ".join(text.split())


def write_answers(tmp_path: Path, name: str, data: dict[str, object]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, default=str), encoding="utf-8")
    return path


def test_cli_writes_docx_and_explains_pdf(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    given = write_answers(tmp_path, "a.json", answers(applicant_name="Jane Q. Public"))
    base = ["assemble", str(LOAN), "--answers", str(given), "--date", "2026-08-01"]
    out = tmp_path / "agreement.docx"
    assert main(base + ["--template", str(TEMPLATE), "--out", str(out)]) == 0
    assert "SHA-256:" in capsys.readouterr().out
    assert "Jane Q. Public" in text_of(out.read_bytes())
    # the interview's own template is Typst: a .docx output needs --template
    assert main(base + ["--out", str(tmp_path / "b.docx")]) == 1
    assert "--template" in capsys.readouterr().err
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    assert main(base + ["--lang", "vi", "--template", str(TEMPLATE), "--out", str(tmp_path / "c.pdf")]) == 1
    err = capsys.readouterr().err
    assert "không chuyển được tệp DOCX sang PDF" in err and "libreoffice-writer-nogui" in err
    assert not (tmp_path / "c.pdf").exists()


def test_make_sample_docx_runs_as_a_module(tmp_path: Path) -> None:
    out = tmp_path / "sample.docx"
    done = subprocess.run([sys.executable, "-m", "documents.make_sample_docx", str(out)], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().startswith(b"PK")
