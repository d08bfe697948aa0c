"""Start a session from a record of a system of record (the interview's `prefill` block).

`start_from_record` is the domain function: the staff console (later) calls it when an agent
starts a session from a CRM record; today the agent gets a signed, expiring start link from
`accord prefill-link` (`make_link`), and `GET /start/<token>` (web/prefill.py) calls it. A bare
`?record=42` is never trusted: whoever could guess record ids would read the CRM through Accord.
"""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlmodel import Session as DB
from sqlmodel import select

from integrations.connectors import ConnectorError, Registry
from store.models import Firm
from store.models import Session as SessionRow
from store.sessions import compile_version, latest_version, load_state, save_step, start_session

SALT = "accord-prefill-link"
LINK_DAYS = 7


class PrefillError(Exception):
    """The session cannot be started from this record (message safe to show the agent)."""


def make_link(secret: str, firm: str, interview: str, record_id: str, lang: str = "en") -> str:
    return URLSafeTimedSerializer(secret, salt=SALT).dumps({"f": firm, "i": interview, "r": str(record_id),
                                                           "l": lang})


def read_link(secret: str, token: str, max_age: int = LINK_DAYS * 86400) -> dict[str, str]:
    try:
        data = URLSafeTimedSerializer(secret, salt=SALT).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise PrefillError("this start link has expired") from exc
    except BadSignature as exc:
        raise PrefillError("this start link is not valid") from exc
    return {"firm": str(data["f"]), "interview": str(data["i"]), "record": str(data["r"]), "lang": str(data["l"])}


def prefilled_answers(mapping: dict[str, str], record: dict[str, Any]) -> dict[str, Any]:
    """The answers a record gives: variable -> the record's field, for fields that have a value."""
    return {var: record[name] for var, name in mapping.items() if record.get(name) not in (None, "")}


def start_from_record(db: DB, registry: Registry, firm_slug: str, interview: str, record_id: str, lang: str = "en",
                      *, agent_id: int | None = None) -> SessionRow:
    """A new session of `interview`, `url_args['record']` = the record id, answers prefilled from
    the record (recorded in the answer log as block `prefill`, so the history shows where they came
    from). The applicant can still change them where the interview asks them."""
    firm = db.exec(select(Firm).where(Firm.slug == firm_slug)).first()
    version = latest_version(db, firm, interview) if firm is not None else None
    if firm is None or version is None:
        raise PrefillError(f"no interview {interview!r}")
    block = compile_version(version).accord.prefill
    if block is None:
        raise PrefillError(f"the interview {interview!r} has no prefill block")
    connector = registry.for_firm(firm_slug).connectors.get(block.source)
    if connector is None:
        raise PrefillError(f"no connector {block.source!r} is configured for this firm")
    try:
        record = connector.fetch(record_id)
    except ConnectorError as exc:
        raise PrefillError(str(exc)) from exc
    answers = prefilled_answers(block.answers, record)
    session = start_session(db, firm, version, lang, url_args={"record": str(record_id)}, agent_id=agent_id)
    if answers:
        row, state = load_state(db, session.id)
        for var, value in answers.items():
            state.namespace[var] = value
        state.record("prefill", {var: (None, value) for var, value in answers.items()})
        save_step(db, row, state)
    db.refresh(session)
    return session
