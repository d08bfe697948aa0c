"""A witness bound to a signer is routed right after that signer: it shares the signer's order, is
invited once the signer has signed (not before), and the next order waits for it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session as DB

from signing import audit, envelopes
from signing.envelopes import EnvelopeError, Notice, PartySpec
from store.models import Participant

T0 = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
PARTIES = [PartySpec("applicant", "sign", 1, "An", "an@example.com"),
           PartySpec("co_applicant", "sign", 1, "Bình", "binh@example.com"),
           PartySpec("witness", "witness", 1, "Chi", "chi@example.com", witness_for="applicant"),
           PartySpec("lender", "sign", 2, "Acme", "lender@example.com")]


def roles(db: DB, envelope_id: str) -> dict[str, Participant]:
    _e, people = envelopes.load(db, envelope_id)
    return {p.role: p for p in people if p.status != "delegated"}


def act(db: DB, p: Participant, outbox: list[Notice], doc: str) -> None:
    envelopes.opened(db, p.id, now=T0)
    envelopes.identified(db, p.id, "email_code", {"result": "verified"}, now=T0)
    envelopes.consented(db, p.id, "esign-v1", now=T0)
    envelopes.acted(db, p.id, outbox.append, doc_after=doc, now=T0)


def invited(outbox: list[Notice], db: DB, envelope_id: str) -> set[str]:
    by_id = {p.id: p.role for p in envelopes.load(db, envelope_id)[1]}
    return {by_id[n.participant_id] for n in outbox if n.kind == "invitation"}


def test_the_witness_follows_its_signer(db: DB, firm_id: int) -> None:
    outbox: list[Notice] = []
    envelope = envelopes.create(db, firm_id, title="Deed", language="en", pdf_sha256="a" * 64, parties=PARTIES,
                                now=T0)
    envelopes.send(db, envelope.id, outbox.append, now=T0)
    assert invited(outbox, db, envelope.id) == {"applicant", "co_applicant"}  # not the witness yet
    people = roles(db, envelope.id)
    assert people["witness"].witness_for == "applicant" and people["witness"].routing_order == 1
    with pytest.raises(EnvelopeError, match="not this participant's turn"):  # before the signer has signed
        envelopes.opened(db, people["witness"].id, now=T0)
    db.rollback()

    act(db, roles(db, envelope.id)["applicant"], outbox, "b" * 64)
    assert invited(outbox, db, envelope.id) == {"applicant", "co_applicant", "witness"}
    act(db, roles(db, envelope.id)["co_applicant"], outbox, "c" * 64)
    assert "lender" not in invited(outbox, db, envelope.id)  # order 2 waits for the witness too
    act(db, roles(db, envelope.id)["witness"], outbox, "d" * 64)
    assert "lender" in invited(outbox, db, envelope.id)
    created = audit.events(db, envelope.id)[0]
    assert {"role": "witness", "action": "witness", "order": 1, "witness_for": "applicant"} in \
        created.detail["participants"]


def test_a_witness_must_name_a_signer_of_the_envelope(db: DB, firm_id: int) -> None:
    bad = [PARTIES[0], PartySpec("witness", "witness", 1, "Chi", "chi@example.com", witness_for="lender")]
    with pytest.raises(EnvelopeError, match="bound to a signer"):
        envelopes.create(db, firm_id, title="Deed", language="en", pdf_sha256="a" * 64, parties=bad, now=T0)
