"""The seed's case as far as a completed envelope, for the connector tests: a `po_order` session
started from CRM record 42, the applicant's answers saved, and its one-party envelope signed with
a PO number typed while signing (the completion's outbox event is then waiting for the worker)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session as DB

from integrations.connectors import Registry
from integrations.prefill import start_from_record
from store.sessions import ensure_firm, load_state, publish_interview, save_step
from tests.one_signer import sign_alone

PO_YML = Path(__file__).parent / "po_order" / "po_order.yml"


def completed_po_order(db_engine: Engine, registry: Registry, po_number: str,
                       before_signing: Callable[[], None] | None = None) -> str:
    """The session id; `before_signing` runs just before the signature (e.g. to stop the CRM)."""
    with DB(db_engine) as db:
        firm = ensure_firm(db, "acme", "Acme")
        publish_interview(db, firm, "po_order", PO_YML)
        session = start_from_record(db, registry, "acme", "po_order", "42")
        row, state = load_state(db, session.id)
        state.namespace.update(job_title="Buyer", seats=3)
        save_step(db, row, state)
        sign_alone(db, firm.id or 0, session.id, title="Order", role="customer", name="An", email="an@example.com",
                   fields={"po_number": po_number}, before_signing=before_signing)
        return session.id
