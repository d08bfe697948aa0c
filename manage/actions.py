"""What staff do to applicants from the console: invite, resend the link, remind, extend an
envelope's expiry, void it, reassign the applicant to another agent. Each is one unit of work on
a `Scope` (so it can only touch the staff member's own firm and, for a limited agent, their own
applicants), and each leaves a `ConsoleAction` row; envelope actions also go through
`signing.envelopes` (state machine and hash-chained audit trail).

E-mail is the caller's: these functions take a `send` callable (to_name, to_email, subject, body)
and a `link` callable (session id -> the applicant's personal link), so this room knows no HTTP
and no SMTP. The texts are here, in English and Vietnamese, like `signing/mail.py`'s.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import Session as DB

import engine
from manage.scope import Scope
from signing import envelopes
from signing.envelopes import EnvelopeError, Notifier
from store import changes
from store.models import ConsoleAction, Firm, utcnow
from store.models import Session as SessionRow
from store.sessions import StepProgress, compile_version, load_state, save_step, start_session

log = logging.getLogger("accord.manage.actions")

SendMail = Callable[[str, str, str, str], None]  # to_name, to_email, subject, body
LinkFor = Callable[[str], str]  # session id -> the applicant's personal link

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Prefill fields the invite form offers -> the interview variable each fills, when the interview has it.
PREFILL_VARS = {"name": "applicant_name", "email": "applicant_email", "amount": "loan_amount"}

TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        "invite": ("{firm}: your application", "Hello{name},\n\n{agent} of {firm} has started an application for "
                                               "you: {interview}.\n\nOpen your personal link to fill it in (do not "
                                               "forward it; it works for {days} days):\n{link}\n"),
        "resend": ("{firm}: your application link", "Hello{name},\n\nHere is your personal link again to continue "
                                                    "your application ({interview}); it works for {days} days:\n"
                                                    "{link}\n"),
        "remind": ("Reminder: your application with {firm}", "Hello{name},\n\nA reminder from {agent} of {firm}: "
                                                             "your application ({interview}) is waiting for you. "
                                                             "Continue where you left off:\n{link}\n"),
    },
    "vi": {
        "invite": ("{firm}: hồ sơ của bạn", "Xin chào{name},\n\n{agent} của {firm} đã tạo hồ sơ cho bạn: "
                                            "{interview}.\n\nMở đường dẫn riêng của bạn để điền (không chuyển tiếp "
                                            "cho người khác; có hiệu lực trong {days} ngày):\n{link}\n"),
        "resend": ("{firm}: đường dẫn hồ sơ của bạn", "Xin chào{name},\n\nĐây là đường dẫn riêng của bạn để tiếp "
                                                      "tục hồ sơ ({interview}); có hiệu lực trong {days} ngày:\n"
                                                      "{link}\n"),
        "remind": ("Nhắc nhở: hồ sơ của bạn tại {firm}", "Xin chào{name},\n\n{agent} của {firm} xin nhắc: hồ sơ "
                                                         "({interview}) của bạn đang chờ. Tiếp tục từ chỗ bạn đã "
                                                         "dừng:\n{link}\n"),
    },
}


class ActionError(Exception):
    """The action cannot be done; `field` names the form field the message belongs next to."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Prefill:
    name: str = ""
    email: str = ""
    amount: str = ""


def parse_prefill(form: dict[str, str]) -> tuple[Prefill, dict[str, str]]:
    """The invite form's prefill values and a message per bad field (English keys: translate them)."""
    errors: dict[str, str] = {}
    name, email, amount = (form.get(k, "").strip() for k in ("name", "email", "amount"))
    if not email:
        errors["email"] = "An e-mail address is needed to send the link."
    elif not EMAIL.match(email) or len(email) > 254:
        errors["email"] = "Enter an e-mail address like name@example.com."
    if amount:
        try:
            value = Decimal(amount.replace(",", "").replace(" ", ""))
            if value <= 0 or not value.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            errors["amount"] = "Enter the amount as a positive number, like 250000."
    if len(name) > 200:
        errors["name"] = "The name is too long."
    return Prefill(name, email, amount), errors


def _record(db: DB, scope: Scope, session_id: str, action: str, detail: dict[str, Any] | None = None,
            envelope_id: str | None = None) -> None:
    db.add(ConsoleAction(firm_id=scope.firm_id, staff_id=scope.staff_id, session_id=session_id,
                         envelope_id=envelope_id, action=action, detail=detail or {}))


def _texts(lang: str, kind: str, **values: str) -> tuple[str, str]:
    subject, body = TEXTS["vi" if lang.startswith("vi") else "en"][kind]
    return subject.format(**values), body.format(**values)


def _mail_values(db: DB, scope: Scope, session: SessionRow, interview: str, days: str) -> dict[str, str]:
    firm = db.get(Firm, scope.firm_id)
    agent = scope.staff_member(db, session.agent_id) if session.agent_id else None
    return {"firm": firm.name if firm else "", "agent": agent.name if agent else (firm.name if firm else ""),
            "interview": interview, "days": days, "name": f" {session.display_name}" if session.display_name else ""}


def _interview_name(db: DB, session: SessionRow) -> str:
    from store.models import InterviewVersion

    version = db.get(InterviewVersion, session.interview_version_id)
    return version.name.replace("_", " ") if version else ""


def invite(db: DB, scope: Scope, interview: str, lang: str, prefill: Prefill, *, send: SendMail, link: LinkFor,
           days: str) -> SessionRow:
    """Start a session of the firm's latest version of `interview`, assigned to this staff member,
    with the prefilled answers the interview has variables for; e-mail the applicant their link."""
    scope.require_write()
    version = scope.latest_version(db, interview)
    firm = db.get(Firm, scope.firm_id)
    if version is None or firm is None:
        raise ActionError("Choose one of the firm's interviews.", "interview")
    session = start_session(db, firm, version, lang)
    row, state = load_state(db, session.id)
    known = compile_version(version).providers
    filled: list[str] = []
    for key, var in PREFILL_VARS.items():
        value: Any = getattr(prefill, key)
        if not value or var not in known:
            continue
        state.namespace[var] = float(Decimal(value.replace(",", "").replace(" ", ""))) if key == "amount" else value
        filled.append(var)
    save_step(db, row, state, _progress(compile_version(version), state))  # the console's columns from the start
    session = db.get(SessionRow, session.id, populate_existing=True) or session
    session.agent_id = scope.staff_id
    session.display_name = prefill.name or None
    session.contact_email = prefill.email or None
    db.add(session)
    _record(db, scope, session.id, "invited", {"interview": interview, "lang": lang, "prefilled": filled})
    db.commit()
    db.refresh(session)
    changes.publish(changes.Change("session", scope.firm_id, session_id=session.id))
    subject, body = _texts(lang, "invite", link=link(session.id), **_mail_values(db, scope, session,
                                                                                   interview.replace("_", " "), days))
    send(prefill.name, prefill.email, subject, body)
    log.info("applicant invited", extra={"session": session.id})
    return session


def _progress(iv: engine.Interview, state: engine.State) -> StepProgress:
    """Where the prefilled applicant starts, for the console's columns (planned on a copy:
    planning may compute variables, and the state saved must stay what the prefill made it)."""
    copy = engine.State.from_json(state.to_json())
    screen = engine.plan(iv, copy)
    name, email = engine.contact(iv, copy)
    if isinstance(screen, engine.Done):
        return StepProgress(None, None, 100, name, email, completed=True)
    percent = screen.progress if screen.progress is not None else 0
    return StepProgress(screen.block_id, screen.section, percent, name, email, completed=screen.is_end)


def _mine(db: DB, scope: Scope, session_id: str) -> SessionRow:
    session = scope.session(db, session_id)
    if session is None:
        raise LookupError("no such applicant")
    scope.require_write()
    return session


def resend(db: DB, scope: Scope, session_id: str, *, send: SendMail, link: LinkFor, days: str) -> None:
    """E-mail the applicant their personal link again (to the address their answers give)."""
    session = _mine(db, scope, session_id)
    if not session.contact_email:
        raise ActionError("This applicant has no e-mail address yet.")
    kind = "resend"
    subject, body = _texts(session.lang, kind, link=link(session.id),
                           **_mail_values(db, scope, session, _interview_name(db, session), days))
    send(session.display_name or "", session.contact_email, subject, body)
    _record(db, scope, session.id, "link_resent")
    db.commit()
    changes.publish(changes.Change("session", scope.firm_id, session_id=session.id))


def remind(db: DB, scope: Scope, session_id: str, *, send: SendMail, link: LinkFor, days: str,
           notifier: Notifier | None) -> None:
    """Remind now: the participants whose turn it is, when the agreement is out for signing;
    otherwise the applicant, about the unfinished interview."""
    session = _mine(db, scope, session_id)
    live = [e for e in scope.envelopes_of(db, session.id) if e.status == "sent"]
    if live:
        envelope = live[0]
        try:
            envelopes.remind(db, envelope.id, notifier, detail={"staff": scope.staff_id})
        except EnvelopeError as exc:
            raise ActionError(str(exc)) from None
        _record(db, scope, session.id, "reminded", {"envelope": envelope.id}, envelope_id=envelope.id)
        db.commit()
        return
    if session.completed_at is not None:
        raise ActionError("The interview is finished and nothing is out for signing.")
    if not session.contact_email:
        raise ActionError("This applicant has no e-mail address yet.")
    subject, body = _texts(session.lang, "remind", link=link(session.id),
                           **_mail_values(db, scope, session, _interview_name(db, session), days))
    send(session.display_name or "", session.contact_email, subject, body)
    _record(db, scope, session.id, "reminded")
    db.commit()
    changes.publish(changes.Change("session", scope.firm_id, session_id=session.id))


def extend(db: DB, scope: Scope, envelope_id: str, days: int, *, now: dt.datetime | None = None) -> None:
    """Give an envelope out for signing `days` more days (from its current expiry, or from now)."""
    now = now or utcnow()
    envelope = scope.envelope(db, envelope_id)
    if envelope is None or envelope.session_id is None:
        raise LookupError("no such envelope")
    _mine(db, scope, envelope.session_id)
    if not 1 <= days <= 90:
        raise ActionError("Extend by 1 to 90 days.", "days")
    current = envelope.expires_at
    base = max(now, current if current is None or current.tzinfo else current.replace(tzinfo=dt.UTC)) \
        if current is not None else now
    try:
        envelopes.extend(db, envelope.id, base + dt.timedelta(days=days), detail={"staff": scope.staff_id}, now=now)
    except EnvelopeError as exc:
        raise ActionError(str(exc)) from None
    _record(db, scope, envelope.session_id, "extended", {"days": days}, envelope_id=envelope.id)
    db.commit()


def void(db: DB, scope: Scope, envelope_id: str, reason: str, notifier: Notifier | None) -> None:
    envelope = scope.envelope(db, envelope_id)
    if envelope is None or envelope.session_id is None:
        raise LookupError("no such envelope")
    _mine(db, scope, envelope.session_id)
    reason = reason.strip()
    if not reason:
        raise ActionError("Say why the envelope is voided (the participants are told).", "reason")
    try:
        envelopes.void(db, envelope.id, reason, notifier)
    except (EnvelopeError, ValueError) as exc:
        raise ActionError(str(exc)) from None
    _record(db, scope, envelope.session_id, "voided", {"reason": reason[:200]}, envelope_id=envelope.id)
    db.commit()


def reassign(db: DB, scope: Scope, session_id: str, agent_id: int) -> None:
    """Give the applicant to another of the firm's agents (who then sees them in their console)."""
    session = _mine(db, scope, session_id)
    target = scope.staff_member(db, agent_id)
    if target is None or not target.active or target.role == "viewer":
        raise LookupError("no such agent")
    before = session.agent_id
    if before == target.id:
        raise ActionError("The applicant is assigned to this agent already.", "agent")
    session.agent_id = target.id
    db.add(session)
    _record(db, scope, session.id, "reassigned", {"from": before, "to": target.id})
    db.commit()
    changes.publish(changes.Change("session", scope.firm_id, session_id=session.id))
