"""Every string of the signer's pages and of the verification page exists in Vietnamese: each page
(every identity step, consent, signing, errors, pending checks, bad links; the verification page's
verdicts, signature lines and audit messages) is rendered in Vietnamese while the translator records
every message it is asked for; none may be missing from the catalog."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from smtp_inbox import Inbox
from sqlalchemy import Engine
from sqlmodel import Session as DB
from starlette.testclient import TestClient

import web.i18n
import web.signing
import web.verify
from signing import envelopes
from signing.envelopes import PartySpec
from signing.mail import SMTPMailer
from signing.verify import SignatureCheck, Verification
from store.blobs import BlobStore
from store.sessions import ensure_firm
from web.app import create_app

VI_PO = web.i18n.LOCALE_DIR / "vi" / "LC_MESSAGES" / "web.po"


class Recorder:
    def __init__(self) -> None:
        with VI_PO.open("rb") as f:
            self.catalog = read_po(f)
        self.asked: set[str] = set()
        self.real = web.i18n.translator

    def __call__(self, lang: str) -> Callable[[str], str]:
        translate = self.real(lang)

        def recorded(message: str) -> str:
            if lang == "vi":
                self.asked.add(message)
            return translate(message)

        return recorded

    def missing(self) -> list[str]:
        return sorted(m for m in self.asked if m not in self.catalog or not self.catalog[m].string)


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(web.signing, "translator", recorder)
    monkeypatch.setattr(web.verify, "translator", recorder)
    return recorder


@pytest.fixture
def smtp() -> Iterator[Inbox]:
    with Inbox() as server:
        yield server


def link(smtp: Inbox, address: str) -> str:
    for message in reversed(smtp.to(address)):
        found = re.search(r"http://testserver(/sign/\S+)", message.get_content())
        if found:
            return found.group(1)
    raise AssertionError(address)


def code(smtp: Inbox, address: str) -> str:
    found = re.search(r"^\s+(\d{6})\s*$", smtp.to(address)[-1].get_content(), re.M)
    assert found
    return found.group(1)


def csrf(page: str) -> str:
    found = re.search(r'name="_csrf" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_signer_pages_in_vietnamese(db: Engine, tmp_path: Path, smtp: Inbox, recorder: Recorder) -> None:
    mailer = SMTPMailer("127.0.0.1", smtp.port, "Accord <noreply@accord.invalid>")
    app = create_app(db, "test-secret", blob_dir=tmp_path / "blobs", mailer=mailer, public_url="http://testserver")
    pdf = BlobStore(tmp_path / "blobs").put(b"%PDF-1.7\n% agreement\n%%EOF\n")
    parties = [PartySpec("applicant", "sign", 1, "An", "an@example.com", "+84901234567", ("email_code", "sms_code")),
               PartySpec("co_applicant", "sign", 1, "Bình", "binh@example.com", None, ("email_code", "id_document")),
               PartySpec("lender", "sign", 1, "Acme", "lender@example.com", None, ("passkey",)),
               PartySpec("witness", "witness", 1, "Chi", "chi@example.com", witness_for="applicant"),
               PartySpec("loan_officer", "approve", 2, "Cán bộ", "officer@example.com"),
               PartySpec("records", "cc", None, "Lưu trữ", "records@example.com")]
    with DB(db) as s:
        firm = ensure_firm(s, "acme", "Acme")
        assert firm.id is not None
        envelope_id = envelopes.create(s, firm.id, title="Hợp đồng vay", language="vi", pdf_sha256=pdf,
                                       parties=parties,
                                       expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=7)).id
        envelopes.send(s, envelope_id, app.state.signing_notifier)
    pages: list[str] = []
    with TestClient(app) as client:
        def get(url: str) -> str:
            pages.append(client.get(url).text)
            return pages[-1]

        def post(url: str, **data: str) -> str:
            pages.append(client.post(url, data=data).text)
            return pages[-1]

        an = link(smtp, "an@example.com")
        token = csrf(get(an))
        post(f"{an}/code", _csrf=token, method="email_code")
        post(f"{an}/verify", _csrf=token, method="email_code", code="000000x")
        post(f"{an}/verify", _csrf=token, method="email_code", code=code(smtp, "an@example.com"))
        assert "Nhắn mã cho tôi" in pages[-1]  # the SMS step
        post(f"{an}/verify", _csrf=token, method="sms_code", code="1")  # no SMS code asked for yet
        post(f"{an}/consent", _csrf=token)  # not identified: the consent is refused with a message
        post(f"{an}/act", _csrf=token, typed="An")
        post(f"{an}/decline", _csrf=token, reason="")
        post(f"{an}/delegate", _csrf=token, name="", email="x")
        binh = link(smtp, "binh@example.com")
        token_b = csrf(get(binh))
        post(f"{binh}/code", _csrf=token_b)
        post(f"{binh}/verify", _csrf=token_b, code=code(smtp, "binh@example.com"))
        assert "chưa có trên máy chủ này" in pages[-1]  # the ID document check is pending
        post(f"{binh}/code", _csrf=token_b, method="sms_code")  # no mobile number
        lender = link(smtp, "lender@example.com")
        token_l = csrf(get(lender))
        post(f"{lender}/code", _csrf=token_l)
        post(f"{lender}/verify", _csrf=token_l, code=code(smtp, "lender@example.com"))
        assert "Tạo khóa truy cập" in pages[-1]  # the passkey step
        with DB(db) as s:  # the applicant is identified (SMS through a gateway is tested elsewhere)
            applicant = next(p for p in envelopes.load(s, envelope_id)[1] if p.role == "applicant")
            envelopes.identity_step(s, applicant.id, "sms_code", {"result": "verified"})
        post(f"{an}/consent", _csrf=token)
        post(f"{an}/consent", _csrf=token, agree="yes")
        pages.append(client.post(f"{an}/act", data={"_csrf": token},
                                 files={"upload": ("s.gif", b"GIF89a", "image/gif")}).text)
        post(f"{an}/act", _csrf=token, typed="An")  # no PAdES signer on this app
        post(f"{an}/act", _csrf=token)
        invalid = client.get("/sign/not-a-token")  # no envelope, so no language: English, translated entries
        assert invalid.status_code == 404
        get(f"{an}?m=sms_sent")
        get(f"{an}?m=passkey_ok")
        post(f"{an}/decline", _csrf=token, reason="Lãi suất cao")
        get(binh)  # after the decline
        post(f"{binh}/code", _csrf=token_b)
    assert recorder.missing() == [], "\n".join(recorder.missing())
    assert len(recorder.asked) > 60
    for page in pages:
        assert 'lang="vi"' in page


def test_verification_page_in_vietnamese(recorder: Recorder) -> None:
    when = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)

    def check(**kw: object) -> SignatureCheck:
        base: dict[str, object] = dict(field="sig_applicant", kind="certification", signer="An",
                                       email="an@example.com", identity=("email_code", "sms_code"), time=when,
                                       intact=True, valid=True, trusted=True, modification_level="FORM_FILLING",
                                       docmdp_ok=True, timestamp_ok=True, ok=True, summary="")
        base.update(kw)
        return SignatureCheck(**base)  # type: ignore[arg-type]

    good = [check(), check(kind="approval", modification_level="LTA_UPDATES",
                           summary="… (certificate checked at the timestamped signing time)"),
            check(kind="document timestamp", modification_level="NONE")]
    bad = [check(ok=False, intact=False), check(ok=False, valid=False), check(ok=False, trusted=False),
           check(ok=False, modification_level="ANNOTATIONS", docmdp_ok=False, timestamp_ok=False),
           check(ok=False, kind="unknown")]
    audits = [(True, "envelope abc: audit trail intact (12 events), head 0123456789abcdef…"),
              (False, "envelope abc: the audit trail is broken: event 3 changed"),
              (False, "envelope abc: this file is not its sealed document"),
              (False, "envelope abc: the certificate's audit head does not match the trail"),
              (False, "no envelope in this database has this file as its final document"), (False, "other")]
    results = [Verification(True, "", tuple(good), audits[0]), Verification(False, "", tuple(good + bad), audits[1]),
               Verification(False, "", tuple(good), audits[2]), Verification(False, "", (), None, ("no signatures",)),
               Verification(False, "", (), None, ("damaged",))]
    page = web.verify.VerifyPage.__new__(web.verify.VerifyPage)
    texts = []
    for result in results:
        for audit in audits:
            from starlette.requests import Request

            request = Request({"type": "http", "query_string": b"lang=vi", "headers": [], "method": "GET",
                               "path": "/verify"})
            response = page._page(request, 200, result=Verification(result.ok, "", result.signatures, audit,
                                                                    result.problems))
            texts.append(bytes(response.body).decode())
    request = Request({"type": "http", "query_string": b"lang=vi", "headers": [], "method": "GET", "path": "/verify"})
    texts.append(bytes(page._page(request, 422, error="x").body).decode())
    assert recorder.missing() == [], "\n".join(recorder.missing())
    joined = "\n".join(texts)
    for english in ("intact, valid and trusted", "NOT VALID", "Signed by", "audit trail is broken", "Identity"):
        assert english not in joined, english
    assert "nguyên vẹn" in joined  # "intact" in Vietnamese
