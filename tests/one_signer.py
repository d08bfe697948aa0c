"""A one-party envelope for a session, sent and signed straight through (opened, code-verified,
consented, signed): the set-up of tests that need a completed agreement, not the ceremony itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session as DB

from signing import envelopes
from signing.envelopes import PartySpec


def sign_alone(db: DB, firm_id: int, session_id: str, *, title: str, role: str, name: str, email: str,
               fields: dict[str, Any] | None = None, before_signing: Callable[[], None] | None = None) -> str:
    """The envelope's id. `fields`: what the signer fills in while signing; `before_signing` runs
    just before the signature (e.g. to stop a peer)."""
    env = envelopes.create(db, firm_id, title=title, language="en", pdf_sha256="0" * 64,
                           parties=[PartySpec(role, "sign", 1, name, email)], session_id=session_id)
    envelopes.send(db, env.id)
    [me] = envelopes.load(db, env.id)[1]
    envelopes.opened(db, me.id)
    envelopes.identified(db, me.id, "email_code", {})
    envelopes.consented(db, me.id, "v1")
    if before_signing is not None:
        before_signing()
    envelopes.acted(db, me.id, detail={"fields": fields} if fields is not None else None)
    return env.id
