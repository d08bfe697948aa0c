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


def test_accord_envelope_tick_retries_pending_seals_and_sends_reminders(
        tmp_path: Path, monkeypatch: Any, capsys: Any) -> None:
    """The cron entry point on a real data dir: a completed envelope whose seal failed gets sealed."""
    from accord.cli import main
    from accord.serve import prepare
    from accord.settings import Settings
    from store.sessions import ensure_firm

    monkeypatch.setenv("ACCORD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ACCORD_DATABASE_URL", raising=False)
    monkeypatch.delenv("ACCORD_SMTP_HOST", raising=False)
    settings = Settings.from_env()
    engine_ = prepare(settings)
    blobs = BlobStore(settings.data_dir / "blobs")
    try:
        with DB(engine_) as db:
            firm = ensure_firm(db, "acme", "Acme")
            sha = blobs.put(loan_agreement().pdf)
            envelope = envelopes.create(db, firm.id or 0, title="Loan agreement", language="en", pdf_sha256=sha,
                                        parties=[PartySpec("loan_officer", "approve", 1, "Officer", "o@x.invalid")])
            envelope_id = envelope.id
            envelopes.send(db, envelope_id)
            _e, [officer] = envelopes.load(db, envelope_id)
            envelopes.opened(db, officer.id)
            envelopes.identified(db, officer.id, "email_code", {})
            envelopes.acted(db, officer.id)
        assert run(seal_pending(lambda: DB(engine_), blobs, Broken(), envelope_id)) is False  # type: ignore[arg-type]
        assert main(["envelope", "tick"]) == 0
        out = capsys.readouterr().out
        assert "seals: 1 sealed, 0 still pending" in out
        with DB(engine_) as db:
            envelope, _ = envelopes.load(db, envelope_id)
            assert envelope.seal_status == "sealed" and envelope.seal_attempts == 2
    finally:
        engine_.dispose()
