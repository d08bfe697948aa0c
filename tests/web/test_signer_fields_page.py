"""Fields a party fills in while signing, on the signer's page over HTTP: the loan interview's
lender types the approved amount and APR; bad values are refused in the envelope's language with
the message next to each field and nothing is signed; good values pass validation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from smtp_inbox import Inbox  # tests/live (on the path through tests/conftest.py)
from sqlalchemy import Engine
from sqlmodel import Session as DB
from sqlmodel import select
from starlette.testclient import TestClient

from signing import audit, envelopes
from signing.envelopes import PartySpec
from signing.mail import SMTPMailer
from store.blobs import BlobStore
from store.models import Firm, Participant
from store.sessions import latest_version, start_session
from web.app import create_app


@pytest.fixture
def smtp() -> Iterator[Inbox]:
    with Inbox() as server:
        yield server


def lender_page(db: Engine, tmp_path: Path, smtp: Inbox, lang: str) -> tuple[TestClient, str, str]:
    blobs = tmp_path / "blobs"
    app = create_app(db, "test-secret", blob_dir=blobs, mailer=SMTPMailer("127.0.0.1", smtp.port, "a@x.invalid"),
                     public_url="http://testserver")
    pdf_sha = BlobStore(blobs).put(b"%PDF-1.7\n% agreement\n%%EOF\n")
    with DB(db) as s:
        firm = s.exec(select(Firm).where(Firm.slug == "demo")).one()
        version = latest_version(s, firm, "loan_application")
        assert version is not None and firm.id is not None
        session = start_session(s, firm, version, lang)
        envelope = envelopes.create(s, firm.id, title="Loan", language=lang, pdf_sha256=pdf_sha,
                                    session_id=session.id,
                                    parties=[PartySpec("lender", "sign", 1, "Acme", "lender@example.com",
                                                       identity=("email_code",))])
        envelope_id = envelope.id
        envelopes.send(s, envelope_id, app.state.signing_notifier)
    return TestClient(app), envelope_id, envelope_id


@pytest.mark.parametrize(("lang", "sign_word"), [("en", "Sign the agreement"), ("vi", "Ký")])
def test_lender_fields_validated_next_to_the_field(db: Engine, tmp_path: Path, smtp: Inbox, lang: str,
                                                   sign_word: str) -> None:
    client, envelope_id, _ = lender_page(db, tmp_path, smtp, lang)
    with client:
        found = re.search(r"http://testserver(/sign/\S+)", smtp.to("lender@example.com")[-1].get_content())
        assert found
        mine = found.group(1)
        page = client.get(mine)
        token = re.search(r'name="_csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        assert "signer-field" not in page.text  # asked only at the signing step
        client.post(f"{mine}/code", data={"_csrf": token})
        code = re.search(r"^\s+(\d{6})\s*$", smtp.to("lender@example.com")[-1].get_content(), re.M)
        assert code
        client.post(f"{mine}/verify", data={"_csrf": token, "code": code.group(1)})
        step = client.post(f"{mine}/consent", data={"_csrf": token, "agree": "yes"})
        assert "Approved amount" in step.text and "Approved APR (%)" in step.text and sign_word in step.text
        names = re.findall(r'<input type="text" id="sf-\d+" name="([^"]+)"', step.text)
        assert len(names) == 2
        bad = client.post(f"{mine}/act", data={"_csrf": token, "typed": "Acme", names[0]: "-5", names[1]: "150"})
        assert bad.status_code == 422
        errors = re.findall(r'<small class="error" id="sf-(\d)-error">([^<]+)</small>', bad.text)
        assert [n for n, _m in errors] == ["1", "2"]
        assert bad.text.count('aria-invalid="true"') == 2 and 'value="150"' in bad.text  # kept what was typed
        with DB(db) as s:
            me = s.exec(select(Participant).where(Participant.envelope_id == envelope_id)).one()
            assert me.status == "identified"  # nothing signed
            assert [e.action for e in audit.events(s, envelope_id)][-1] == "consented"
        expected = {"en": ["You need to enter a value of at least 0.",
                           "You need to enter a value no greater than 100."],
                    "vi": ["Bạn cần nhập giá trị ít nhất là 0.", "Bạn cần nhập giá trị không lớn hơn 100."]}
        assert [m for _n, m in errors] == expected[lang]
        # Good values pass validation; this app has no PAdES signer, so it then says signing is unavailable.
        good = client.post(f"{mine}/act", data={"_csrf": token, "typed": "Acme", names[0]: "500000000",
                                                names[1]: "12.5"})
        assert good.status_code == 503
