"""The agreement in the browser: preview from the assembled source, the PDF of each version, and
new versions (with their clause changes) only when an answer changes what is assembled."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session as DB
from starlette.testclient import TestClient
from test_wizard import start, walk

from store.agreements import agreement_versions
from store.sessions import load_state, save_step
from web.app import create_app


@pytest.fixture
def blob_client(db: Engine, tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(db, "test-secret", blob_dir=tmp_path / "blobs")) as c:
        yield c


def _set(db: Engine, session_id: str, **values: object) -> None:
    """An answer changed after the agreement was first assembled (as an edit from review would)."""
    with DB(db) as s:
        session, state = load_state(s, session_id)
        state.namespace.update(values)
        save_step(s, session, state)


def _finished_loan(client: TestClient, db: Engine, lang: str = "en") -> str:
    session_id = start(client, lang)
    screen, page = walk(client, db, session_id, seed_=1)
    assert screen.is_end
    # The agreement exists only when e-sign consent was given; make the walk's session one that signs.
    _set(db, session_id, esign_consent=True)
    return session_id


def test_end_screen_links_to_the_preview(blob_client: TestClient, db: Engine) -> None:
    session_id = _finished_loan(blob_client, db)
    page = blob_client.get(f"/s/{session_id}")
    assert f'href="/s/{session_id}/agreement"' in page.text


def test_preview_pdf_and_versions(blob_client: TestClient, db: Engine, tmp_path: Path) -> None:
    session_id = _finished_loan(blob_client, db)
    _set(db, session_id, applicant_region="VN-HN", applicant_name="Nguyễn <b>Văn</b> An")
    page = blob_client.get(f"/s/{session_id}/agreement")
    assert page.status_code == 200, page.text
    assert "Nguyễn &lt;b&gt;Văn&lt;/b&gt; An" in page.text  # the answer is text, never markup
    assert "VN-HN" in page.text and "clause-regional" in page.text
    assert "Version 1," in page.text
    # Viewing again without a change makes no new version.
    blob_client.get(f"/s/{session_id}/agreement")
    with DB(db) as s:
        rows = agreement_versions(s, session_id)
    assert [r.number for r in rows] == [1]
    pdf = blob_client.get(f"/s/{session_id}/agreement/1.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(pdf.content).hexdigest() == rows[0].pdf_sha256 == pdf.headers["x-content-sha256"]
    (tmp_path / "v1.pdf").write_bytes(pdf.content)
    text = subprocess.run(["pdftotext", str(tmp_path / "v1.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Nguyễn <b>Văn</b> An" in text

    # The applicant moves to California: the region clauses change, so a second version is kept.
    _set(db, session_id, applicant_region="US-CA")
    page = blob_client.get(f"/s/{session_id}/agreement")
    assert "Version 2," in page.text and "US-CA" in page.text
    with DB(db) as s:
        rows = agreement_versions(s, session_id)
    assert [r.number for r in rows] == [1, 2]
    assert rows[0].region == "VN-HN" and rows[1].region == "US-CA"
    assert rows[1].changes, "a change of region changes clauses"
    kinds = {c["kind"] for c in rows[1].changes}
    assert kinds <= {"added", "removed", "changed"} and kinds
    history = blob_client.get(f"/s/{session_id}/agreement/versions")
    assert history.status_code == 200
    assert "Version 2" in history.text and "Version 1" in history.text
    assert any(c["title"] in history.text for c in rows[1].changes)
    assert 'class="diff"' in history.text
    # Both PDFs stay available and differ.
    assert blob_client.get(f"/s/{session_id}/agreement/1.pdf").content == pdf.content
    assert blob_client.get(f"/s/{session_id}/agreement/2.pdf").content != pdf.content


def test_vietnamese_preview(blob_client: TestClient, db: Engine) -> None:
    session_id = _finished_loan(blob_client, db, "vi")
    page = blob_client.get(f"/s/{session_id}/agreement")
    assert page.status_code == 200
    assert '<html lang="vi">' in page.text and "Phiên bản 1" in page.text


def test_not_ready_and_not_owned(blob_client: TestClient, db: Engine) -> None:
    session_id = start(blob_client)
    page = blob_client.get(f"/s/{session_id}/agreement")
    assert page.status_code == 409 and "not ready" in page.text
    other = TestClient(blob_client.app)
    assert other.get(f"/s/{session_id}/agreement").status_code == 404
    assert other.get(f"/s/{session_id}/agreement/1.pdf").status_code == 404
    assert blob_client.get(f"/s/{session_id}/agreement/7.pdf").status_code == 404
