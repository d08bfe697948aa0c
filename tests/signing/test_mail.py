"""Envelope e-mails through a real SMTP server on loopback, in the envelope's language, each with
a link that opens only its own participant."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from smtp_inbox import Inbox
from sqlalchemy import Engine
from sqlmodel import Session as DB

from signing import envelopes
from signing.envelopes import PartySpec
from signing.links import read_token
from signing.mail import SMTPMailer, envelope_notifier

PARTIES = [PartySpec("applicant", "sign", 1, "Nguyễn Văn An", "an@example.com"),
           PartySpec("co_applicant", "sign", 1, "Trần Thị Bình", "binh@example.com"),
           PartySpec("lender", "sign", 2, "Acme", "lender@example.com")]


@pytest.fixture
def smtp() -> Iterator[Inbox]:
    with Inbox() as server:
        yield server


@pytest.mark.parametrize(("lang", "subject"), [("en", "Please sign: Loan agreement"),
                                               ("vi", "Đề nghị ký: Loan agreement")])
def test_invitations_arrive_with_their_own_links(db: DB, db_engine: Engine, firm_id: int, smtp: Inbox,
                                                 lang: str, subject: str) -> None:
    notify = envelope_notifier(lambda: DB(db_engine), SMTPMailer("127.0.0.1", smtp.port, "Accord <a@x.invalid>"),
                               "secret", "http://127.0.0.1:8000")
    envelope = envelopes.create(db, firm_id, title="Loan agreement", language=lang, pdf_sha256="a" * 64,
                                parties=PARTIES)
    envelopes.send(db, envelope.id, notify)
    _e, people = envelopes.load(db, envelope.id)
    ids = {p.email: p.id for p in people}
    assert len(smtp.messages) == 2 and not smtp.to("lender@example.com")
    for address in ("an@example.com", "binh@example.com"):
        [message] = smtp.to(address)
        assert message["Subject"] == subject
        body = message.get_content()
        token = re.search(r"http://127\.0\.0\.1:8000/sign/(\S+)", body)
        assert token is not None
        assert read_token("secret", token.group(1), max_age=3600) == ids[address]
    assert "Nguyễn Văn An" in smtp.to("an@example.com")[0].get_content()
