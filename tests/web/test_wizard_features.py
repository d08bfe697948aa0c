"""The wizard's issue-3 features over HTTP: htmx fragments, save and resume by e-mail (a real
aiosmtpd server on 127.0.0.1), exit and restart, uploads (size and type by magic bytes),
signatures (drawn PNG and typed), terms popovers. The browser side is in tests/live/."""

from __future__ import annotations

import email
import email.policy
import logging
import re
import socket
import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import Engine
from sqlmodel import Session as DB
from sqlmodel import select
from starlette.testclient import TestClient

from accord.serve import seed
from accord.settings import DEFAULT_INTERVIEWS
from store import migrate
from store.database import make_engine
from store.models import Session as SessionRow
from store.models import Upload
from store.sessions import load_state
from web.app import create_app
from web.options import WebOptions

FEATURES = Path(__file__).resolve().parent / "features"
SECRET = "feature-secret"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"


class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))  # type: ignore[arg-type]
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    db = make_engine(f"sqlite:///{tmp_path / 'features.db'}")
    migrate.upgrade(db)
    seed(db, DEFAULT_INTERVIEWS)
    seed(db, FEATURES)
    yield db
    db.dispose()


@pytest.fixture
def options(tmp_path: Path, inbox: tuple[Inbox, int]) -> WebOptions:
    return WebOptions(data_dir=tmp_path, smtp_host="127.0.0.1", smtp_port=inbox[1], mail_from="accord@test.invalid",
                      public_url="http://accord.test", max_upload_mb=0.05)


@pytest.fixture
def client(db: Engine, options: WebOptions) -> Iterator[TestClient]:
    with TestClient(create_app(db, SECRET, options=options)) as c:
        yield c


def start(client: TestClient, name: str = "loan_application", lang: str = "en") -> str:
    response = client.get(f"/i/{name}?lang={lang}", follow_redirects=False)
    assert response.status_code == 303
    return str(response.headers["location"]).removeprefix("/s/")


def hidden(page: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(_csrf|_version)" value="([^"]*)"', page))


def post(client: TestClient, sid: str, data: dict[str, Any], files: Any = None, path: str = "",
         headers: dict[str, str] | None = None) -> Any:
    page = client.get(f"/s/{sid}").text
    payload = {**hidden(page), **data}
    return client.post(f"/s/{sid}{path}", data=payload, files=files, follow_redirects=False, headers=headers)


def to_about_you(client: TestClient) -> str:
    sid = start(client)
    assert post(client, sid, {"_button": "0"}).status_code == 303
    return sid


def state_vars(db: Engine, sid: str) -> dict[str, Any]:
    with DB(db) as s:
        return dict(load_state(s, sid)[1].namespace)


# -- htmx -------------------------------------------------------------------------------------------


def test_htmx_is_served_from_the_pip_package(client: TestClient) -> None:
    response = client.get("/static/vendor/htmx.min.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert b"htmx" in response.content and len(response.content) > 10_000
    page = client.get(f"/s/{start(client)}").text
    assert '<script src="/static/vendor/htmx.min.js" defer></script>' in page


def test_htmx_requests_get_a_fragment_plain_requests_the_page(client: TestClient) -> None:
    sid = to_about_you(client)
    full = client.get(f"/s/{sid}")
    assert full.text.lstrip().startswith("<!doctype html>") and 'hx-post="/s/' in full.text
    fragment = client.get(f"/s/{sid}", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and "<body" not in fragment.text
    assert fragment.text.startswith("<title>") and "<form" in fragment.text and "<h1" in fragment.text
    assert "HX-Request" in fragment.headers["vary"]
    # an htmx history restore needs the whole page
    restore = client.get(f"/s/{sid}", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text
    # a validation error is 422 with the fragment, the title says "Error:"
    invalid = post(client, sid, {"applicant_email": "not an email"}, headers={"HX-Request": "true"})
    assert invalid.status_code == 422
    assert "<html" not in invalid.text and 'class="error-summary"' in invalid.text
    assert invalid.text.startswith("<title>Error:")


# -- save and continue later ---------------------------------------------------------------------------


def email_field(page: str) -> str:
    match = re.search(r'<input type="email" id="field-\d+" name="([^"]+)"', page)
    assert match is not None
    return match.group(1)


def test_save_sends_a_link_that_resumes_with_the_draft_in_a_new_browser(
        client: TestClient, db: Engine, inbox: tuple[Inbox, int], caplog: pytest.LogCaptureFixture) -> None:
    handler, _port = inbox
    sid = to_about_you(client)
    page = client.get(f"/s/{sid}").text
    assert 'name="_save"' in page and 'name="_exit"' in page and 'name="_restart"' in page
    key = email_field(page)
    saved = post(client, sid, {key: "half typed", "_save": "1"})
    assert saved.status_code == 303 and saved.headers["location"] == f"/s/{sid}/save"
    assert key not in state_vars(db, sid)  # a draft is not an answer
    form = client.get(f"/s/{sid}/save")
    assert form.status_code == 200 and 'type="email"' in form.text

    bad = client.post(f"/s/{sid}/save", data={**hidden(form.text), "email": "nope"}, follow_redirects=False)
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.text and "name@example.com" in bad.text
    assert client.post(f"/s/{sid}/save", data={"email": "ann@example.com"}).status_code == 403
    address = "ann.private@example.com"
    with caplog.at_level(logging.DEBUG):
        sent = client.post(f"/s/{sid}/save", data={**hidden(form.text), "email": address})
    assert sent.status_code == 200 and address in sent.text
    ours = [r for r in caplog.records if not r.name.startswith("mail.log")]  # not the test's SMTP server
    assert any(r.name.startswith("accord.web") for r in ours)
    for record in ours:
        assert address not in record.getMessage() and address not in str(record.__dict__)
        assert "half typed" not in str(record.__dict__)
    assert len(handler.messages) == 1
    message = handler.messages[0]
    assert message["To"] == address and message["From"] == "accord@test.invalid"
    body = message.get_content()  # type: ignore[attr-defined]
    link = re.search(r"http://accord\.test(/r/\S+)", body)
    assert link is not None and "7 days" in body
    for record in ours:
        assert link.group(1) not in str(record.__dict__)

    fresh = TestClient(client.app)  # another browser: no cookie
    assert fresh.get(f"/s/{sid}").status_code == 404
    opened = fresh.get(link.group(1), follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == f"/s/{sid}"
    resumed = fresh.get(f"/s/{sid}")
    assert resumed.status_code == 200
    assert re.search(rf'name="{re.escape(key)}" value="half typed"', resumed.text)  # the draft is back


def test_sends_are_rate_limited_per_session(client: TestClient, inbox: tuple[Inbox, int]) -> None:
    sid = to_about_you(client)
    form = client.get(f"/s/{sid}/save").text
    for _ in range(3):
        assert client.post(f"/s/{sid}/save", data={**hidden(form), "email": "a@example.com"}).status_code == 200
    limited = client.post(f"/s/{sid}/save", data={**hidden(form), "email": "a@example.com"})
    assert limited.status_code == 429 and "last hour" in limited.text
    assert len(inbox[0].messages) == 3
    other = to_about_you(client)  # the limit is per session
    form = client.get(f"/s/{other}/save").text
    assert client.post(f"/s/{other}/save", data={**hidden(form), "email": "a@example.com"}).status_code == 200


def test_vietnamese_session_gets_a_vietnamese_email(client: TestClient, inbox: tuple[Inbox, int]) -> None:
    sid = start(client, lang="vi")
    form = client.get(f"/s/{sid}/save").text
    assert 'lang="vi"' in form
    assert client.post(f"/s/{sid}/save", data={**hidden(form), "email": "b@example.com"}).status_code == 200
    message = inbox[0].messages[-1]
    assert "hồ sơ" in str(message["Subject"]).lower() or "tiếp tục" in str(message["Subject"]).lower()
    assert "ngày" in message.get_content()  # type: ignore[attr-defined]


class _OldSigner(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 8 * 86400


def test_expired_and_tampered_links(client: TestClient) -> None:
    sid = start(client)
    old = URLSafeTimedSerializer(SECRET, salt="accord-resume", signer=_OldSigner).dumps({"s": sid})
    fresh = TestClient(client.app)
    expired = fresh.get(f"/r/{old}", follow_redirects=False)
    assert expired.status_code == 410 and "expired" in expired.text
    good = URLSafeTimedSerializer(SECRET, salt="accord-resume").dumps({"s": sid})
    tampered = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    bad = fresh.get(f"/r/{tampered}", follow_redirects=False)
    assert bad.status_code == 400 and "not valid" in bad.text
    forged = URLSafeTimedSerializer("another-secret", salt="accord-resume").dumps({"s": sid})
    assert fresh.get(f"/r/{forged}", follow_redirects=False).status_code == 400
    assert fresh.get(f"/s/{sid}").status_code == 404  # none of them let this browser in
    assert fresh.get(f"/r/{good}", follow_redirects=False).status_code == 303


def test_no_smtp_configured_says_so(db: Engine, tmp_path: Path) -> None:
    with TestClient(create_app(db, SECRET, options=WebOptions(data_dir=tmp_path))) as client:
        sid = start(client)
        form = client.get(f"/s/{sid}/save").text
        response = client.post(f"/s/{sid}/save", data={**hidden(form), "email": "a@example.com"})
        assert response.status_code == 503 and "cannot send e-mail" in response.text


# -- exit and restart -------------------------------------------------------------------------------------


def test_exit_keeps_the_answers_and_offers_to_resume(client: TestClient, db: Engine) -> None:
    sid = to_about_you(client)
    response = post(client, sid, {"_exit": "1"})
    assert response.status_code == 303 and response.headers["location"] == f"/s/{sid}/exit"
    page = client.get(f"/s/{sid}/exit")
    assert page.status_code == 200 and "answers are kept" in page.text
    assert f'href="/s/{sid}/save"' in page.text and f'href="/s/{sid}"' in page.text
    assert state_vars(db, sid)["esign_consent"] is True


def test_restart_asks_first_then_starts_a_new_session_and_keeps_the_old(client: TestClient, db: Engine) -> None:
    sid = to_about_you(client)
    response = post(client, sid, {"_restart": "1"})
    assert response.headers["location"] == f"/s/{sid}/restart"
    confirm = client.get(f"/s/{sid}/restart")
    assert confirm.status_code == 200 and "Start again?" in confirm.text
    assert client.post(f"/s/{sid}/restart", data={}).status_code == 403
    new = client.post(f"/s/{sid}/restart", data=hidden(confirm.text), follow_redirects=False)
    assert new.status_code == 303
    new_id = new.headers["location"].removeprefix("/s/")
    assert new_id != sid
    assert client.get(f"/s/{new_id}").status_code == 200 and client.get(f"/s/{sid}").status_code == 200
    assert "esign_consent" not in state_vars(db, new_id) and state_vars(db, sid)["esign_consent"] is True
    with DB(db) as s:
        rows = s.exec(select(SessionRow).where(SessionRow.id.in_([sid, new_id]))).all()  # type: ignore[attr-defined]
        assert len({r.interview_version_id for r in rows}) == 1 and len(rows) == 2


# -- uploads, signatures, terms -----------------------------------------------------------------------


def to_upload(client: TestClient) -> str:
    sid = start(client, "wizard_features")
    assert post(client, sid, {"applicant_name": "Ann Example"}).status_code == 303
    return sid


def test_terms_are_popovers_and_help_is_a_disclosure(client: TestClient) -> None:
    sid = start(client, "wizard_features")
    page = client.get(f"/s/{sid}").text
    button = re.search(r'<button type="button" class="term" popovertarget="(term-\d+)"[^>]*>collateral</button>', page)
    assert button is not None
    assert re.search(rf'<div id="{button.group(1)}" popover[^>]*>.*?lender may keep', page, re.S)
    assert '<details class="help"><summary>Help</summary>' in page and "As written on your ID" in page
    assert "<title>What is your name? – Accord</title>" in page
    assert post(client, sid, {"applicant_name": "Ann"}).status_code == 303
    page = client.get(f"/s/{sid}").text  # `auto terms`: the phrase is linked wherever it appears, no braces
    auto = re.search(r'<button type="button" class="term" popovertarget="(term-\d+)"[^>]*>identity document</button>',
                     page)
    assert auto is not None
    assert re.search(rf'<div id="{auto.group(1)}" popover[^>]*>.*?proves who you are', page, re.S)


def test_upload_is_stored_under_its_hash_with_a_row(client: TestClient, db: Engine, options: WebOptions) -> None:
    sid = to_upload(client)
    page = client.get(f"/s/{sid}").text
    assert "At most 0.05 MB per file" in page and "Only the file" not in page
    assert post(client, sid, {}, files={"id_document": ("id.pdf", PDF, "application/pdf")}).status_code == 303
    with DB(db) as s:
        row = s.exec(select(Upload).where(Upload.session_id == sid)).one()
    assert (options.upload_dir / row.sha256).read_bytes() == PDF
    assert (row.filename, row.content_type, row.size) == ("id.pdf", "application/pdf", len(PDF))
    assert row.field == "id_document"
    answer = state_vars(db, sid)["id_document"]
    assert (answer.filename, answer.number, answer.sha256) == ("id.pdf", row.id, row.sha256)


def test_upload_too_large_is_422_next_to_the_field_and_keeps_nothing(client: TestClient, db: Engine,
                                                                      options: WebOptions) -> None:
    sid = to_upload(client)
    big = PDF + b"0" * 60_000  # over 0.05 MB
    response = post(client, sid, {}, files={"id_document": ("id.pdf", big, "application/pdf")})
    assert response.status_code == 422
    assert re.search(r'<small class="error" id="field-0-error">This file is larger than 0.05 MB', response.text)
    assert 'aria-invalid="true"' in response.text
    assert not options.upload_dir.exists() or not any(options.upload_dir.iterdir())
    assert "id_document" not in state_vars(db, sid)


def test_a_body_past_the_hard_cap_is_413(client: TestClient) -> None:
    sid = to_upload(client)
    huge = b"%PDF-" + b"0" * (5 * 52_429 + 2 * 1024 * 1024 + 10)
    response = post(client, sid, {}, files={"id_document": ("id.pdf", huge, "application/pdf")})
    assert response.status_code == 413 and "larger than 0.05 MB" in response.text


def test_upload_type_is_checked_by_content_not_name(client: TestClient, db: Engine) -> None:
    sid = to_upload(client)
    fake = post(client, sid, {}, files={"id_document": ("id.pdf", b"MZ\x90\x00\x03\x00binary", "application/pdf")})
    assert fake.status_code == 422 and "not one of the accepted types" in fake.text
    gif = post(client, sid, {}, files={"id_document": ("id.png", b"GIF89a" + b"\x00" * 20, "image/png")})
    assert gif.status_code == 422
    png = post(client, sid, {}, files={"id_document": ("photo.png", png_bytes(4, 4, drawn=True), "image/png")})
    assert png.status_code == 303
    assert state_vars(db, sid)["id_document"].mimetype == "image/png"


def test_an_upload_is_kept_when_going_back(client: TestClient, db: Engine) -> None:
    sid = to_upload(client)
    assert post(client, sid, {}, files={"id_document": ("id.pdf", PDF, "application/pdf")}).status_code == 303
    assert post(client, sid, {"_back": "1"}).status_code == 303
    page = client.get(f"/s/{sid}").text
    assert "Already uploaded: id.pdf" in page and 'name="_keep:id_document"' in page
    keep = re.search(r'name="_keep:id_document" value="([^"]+)"', page)
    assert keep is not None
    assert post(client, sid, {"_keep:id_document": keep.group(1)}).status_code == 303  # no new file: kept
    assert state_vars(db, sid)["id_document"].filename == "id.pdf"
    other = to_upload(client)  # another session cannot borrow the upload
    response = post(client, other, {"_keep:id_document": keep.group(1)})
    assert response.status_code == 422


def png_bytes(width: int, height: int, drawn: bool) -> bytes:
    rows = b"".join(b"\x00" + (b"\x10\x20\x30\xff" if drawn and y == 1 else b"\x00\x00\x00\x00") * width
                    for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def to_signature(client: TestClient) -> str:
    sid = to_upload(client)
    assert post(client, sid, {}, files={"id_document": ("id.pdf", PDF, "application/pdf")}).status_code == 303
    return sid


def test_signature_drawn_typed_blank_and_broken(client: TestClient, db: Engine, options: WebOptions) -> None:
    import base64

    sid = to_signature(client)
    page = client.get(f"/s/{sid}").text
    assert "<canvas" in page and 'name="_typed:applicant_signature"' in page
    blank = "data:image/png;base64," + base64.b64encode(png_bytes(30, 10, drawn=False)).decode()
    response = post(client, sid, {"applicant_signature": blank})
    assert response.status_code == 422 and "signature box is empty" in response.text
    assert 'href="#field-0-typed"' in response.text  # the summary links to the input that works without JS
    broken = post(client, sid, {"applicant_signature": "data:image/png;base64,AAAA"})
    assert broken.status_code == 422 and "could not be read" in broken.text
    assert post(client, sid, {}).status_code == 422  # nothing at all: required
    drawn = "data:image/png;base64," + base64.b64encode(png_bytes(30, 10, drawn=True)).decode()
    assert post(client, sid, {"applicant_signature": drawn}).status_code == 303
    answer = state_vars(db, sid)["applicant_signature"]
    assert answer.mimetype == "image/png" and (options.upload_dir / answer.sha256).read_bytes().startswith(b"\x89PNG")

    typed_sid = to_signature(client)
    assert post(client, typed_sid, {"_typed:applicant_signature": "  Ann   Example "}).status_code == 303
    typed = state_vars(db, typed_sid)["applicant_signature"]
    assert typed.mimetype == "text/plain" and (options.upload_dir / typed.sha256).read_text() == "Ann Example"
    end = client.get(f"/s/{typed_sid}").text
    assert "All done" in end


def test_settings_for_mail_resume_and_uploads(tmp_path: Path) -> None:
    from accord.serve import web_options
    from accord.settings import Settings

    defaults = web_options(Settings.from_env({"ACCORD_DATA_DIR": str(tmp_path)}))
    assert (defaults.smtp_host, defaults.smtp_port, defaults.resume_days, defaults.max_upload_mb) == ("", 25, 7, 10)
    assert defaults.upload_dir == tmp_path / "uploads" and defaults.max_upload_bytes == 10 * 1024 * 1024
    options = web_options(Settings.from_env({
        "ACCORD_DATA_DIR": str(tmp_path), "ACCORD_SMTP_HOST": "mail.internal", "ACCORD_SMTP_PORT": "2525",
        "ACCORD_MAIL_FROM": "noreply@firm.example", "ACCORD_PUBLIC_URL": "https://apply.firm.example/",
        "ACCORD_RESUME_DAYS": "2", "ACCORD_MAX_UPLOAD_MB": "0.5"}))
    assert (options.smtp_host, options.smtp_port, options.mail_from) == ("mail.internal", 2525, "noreply@firm.example")
    assert options.public_url == "https://apply.firm.example" and options.resume_days == 2
    assert options.max_upload_bytes == 512 * 1024
