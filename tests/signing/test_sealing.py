"""Sealing never leaves an envelope stuck: a failing seal stays pending with its attempts and error
on record, and the next try seals it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
from signflow import Services, loan_agreement, run
from sqlalchemy import Engine
from sqlmodel import Session as DB

from signing import audit, envelopes
from signing.envelopes import PartySpec
from signing.pades import Pades
from signing.sealing import audit_check, seal_pending
from signing.verify import verify_pdf
from store.blobs import BlobStore


class Broken:
    async def seal(self, pdf: bytes, completion: Any) -> bytes:
        raise ConnectionError("the TSA is down")


def test_a_failed_seal_stays_pending_then_succeeds(db: DB, db_engine: Engine, firm_id: int, services: Services,
                                                  tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    sha = blobs.put(loan_agreement().pdf)
    envelope = envelopes.create(db, firm_id, title="Loan agreement", language="vi", pdf_sha256=sha,
                                parties=[PartySpec("loan_officer", "approve", 1, "Officer", "o@example.com")])
    envelope_id = envelope.id
    envelopes.send(db, envelope_id)
    _e, [officer] = envelopes.load(db, envelope_id)
    envelopes.opened(db, officer.id)
    envelopes.identified(db, officer.id, "email_code", {"result": "verified"})
    envelopes.acted(db, officer.id)

    assert run(seal_pending(lambda: DB(db_engine), blobs, Broken(), envelope_id)) is False  # type: ignore[arg-type]
    db.expire_all()
    envelope, _ = envelopes.load(db, envelope_id)
    assert (envelope.status, envelope.seal_status, envelope.seal_attempts) == ("completed", "pending", 1)
    assert envelope.seal_error == "ConnectionError"
    assert audit.events(db, envelope_id)[-1].action == "seal_failed"

    async def seal_for_real() -> bool:
        async with aiohttp.ClientSession() as session:
            return await seal_pending(lambda: DB(db_engine), blobs, Pades(services.pki, session), envelope_id)

    assert run(seal_for_real()) is True
    db.expire_all()
    envelope, _ = envelopes.load(db, envelope_id)
    assert (envelope.seal_status, envelope.seal_attempts, envelope.seal_error) == ("sealed", 2, None)
    chain = audit.events(db, envelope_id)
    assert chain[-1].action == "sealed" and chain[-1].detail["audit_head"] == chain[-2].hash
    assert audit.verify(chain).ok
    result = verify_pdf(blobs.get(envelope.current_sha256), [services.pki.root],
                        audit_check=audit_check(lambda: DB(db_engine)))
    assert result.ok and result.audit is not None and result.audit[0], result.summary
    assert run(seal_for_real()) is True  # sealing again is a no-op
