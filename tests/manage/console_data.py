"""Hand-built firms, agents, sessions and envelopes for the manage tests. Sessions are rows with
chosen times (the columns a step keeps true are tested through the web app in
tests/web/test_progress_columns.py); envelopes, their participants, audit events and code
attempts go through the real `signing` functions."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlmodel import Session as DB
from sqlmodel import select

from signing import envelopes
from signing.envelopes import PartySpec
from signing.identity import EmailCode, IdentityError
from store.models import AgreementVersion, AnswerEvent, Firm, InterviewVersion, Participant, Session, Staff

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday morning


def firm(db: DB, slug: str) -> Firm:
    row = Firm(slug=slug, name=slug.title())
    db.add(row)
    db.commit()
    db.refresh(row)
    return row


def staff(db: DB, firm_id: int, name: str, role: str = "agent", sees_all: bool = False) -> Staff:
    row = Staff(firm_id=firm_id, email=f"{name.lower().replace(' ', '.')}.{secrets.token_hex(3)}@example.test",
                name=name, role=role, sees_all=sees_all, password_hash="x")
    db.add(row)
    db.commit()
    db.refresh(row)
    return row


def interview(db: DB, firm_id: int, name: str) -> InterviewVersion:
    row = InterviewVersion(firm_id=firm_id, name=name, content_hash=secrets.token_hex(32), path=f"{name}.yml",
                           source="")
    db.add(row)
    db.commit()
    db.refresh(row)
    return row


def session(db: DB, version: InterviewVersion, *, name: str | None = None, email: str | None = None,
            agent: Staff | None = None, created: dt.datetime = T0, updated: dt.datetime | None = None,
            completed: dt.datetime | None = None, block: str | None = None, section: str | None = None,
            progress: int = 0, steps: list[tuple[str, dt.datetime, dict[str, object]]] | None = None) -> Session:
    """A session row; `steps` become its answer events (block, time, {var: new value})."""
    assert version.id is not None
    row = Session(firm_id=version.firm_id, interview_version_id=version.id, lang="en", state={},
                  created_at=created, updated_at=updated or created, completed_at=completed,
                  agent_id=agent.id if agent else None, display_name=name, contact_email=email,
                  current_block=block, current_section=section, progress=progress,
                  stage="completed" if completed is not None else "in_progress")  # as save_step would
    db.add(row)
    db.commit()
    for seq, (step_block, at, changes) in enumerate(steps or [], start=1):
        db.add(AnswerEvent(session_id=row.id, seq=seq, block=step_block, at=at,
                           changes={k: [None, v] for k, v in changes.items()}))
    db.commit()
    db.refresh(row)
    return row


def envelope(db: DB, s: Session, *, created: dt.datetime, sent: dt.datetime | None = None,
             parties: tuple[tuple[str, str], ...] = (("applicant", "An Applicant"),), region: str | None = None) -> str:
    """An envelope for session `s` (one signer per party), sent at `sent` if given, of an
    agreement version in `region` if given; its id."""
    version_id = None
    if region is not None:
        number = len(db.exec(select(AgreementVersion).where(AgreementVersion.session_id == s.id)).all()) + 1
        version = AgreementVersion(session_id=s.id, number=number, region=region, language="en", source={},
                                   source_hash="0" * 64, pdf_sha256="0" * 64, pages=1, created_at=created)
        db.add(version)
        db.commit()
        version_id = version.id
    specs = [PartySpec(role=role, action="sign", order=i + 1, name=who, email=f"{role}@example.test")
             for i, (role, who) in enumerate(parties)]
    env = envelopes.create(db, s.firm_id, title="Loan agreement", language="en", pdf_sha256="0" * 64,
                           parties=specs, session_id=s.id, agreement_version_id=version_id, now=created)
    if sent is not None:
        envelopes.send(db, env.id, now=sent)
    return env.id


def participants(db: DB, envelope_id: str) -> list[Participant]:
    return list(db.exec(select(Participant).where(Participant.envelope_id == envelope_id)
                        .order_by(Participant.routing_order)).all())


def sign_all(db: DB, envelope_id: str, at: dt.datetime) -> None:
    """Every participant opens, identifies and signs, in routing order, at `at`."""
    for p in participants(db, envelope_id):
        assert p.id is not None
        envelopes.opened(db, p.id, now=at)
        envelopes.identified(db, p.id, "email_code", {"result": "verified"}, now=at)
        envelopes.consented(db, p.id, "I agree to sign electronically.", now=at)
        envelopes.acted(db, p.id, now=at)


def wrong_codes(db: DB, participant: Participant, times: int, at: dt.datetime) -> None:
    """The participant asks for a code and types `times` wrong ones (through signing.identity)."""
    method = EmailCode(b"k" * 32, lambda _p, _code: None)
    method.start(db, participant, now=at)
    for _ in range(times):
        try:
            method.check(db, participant, "not-a-code", now=at)
        except IdentityError:
            pass
