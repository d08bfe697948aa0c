"""Units of work on agreement versions. A version row is written once and never updated: the
history of what was assembled, from which clauses, and how each differs from the one before."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session as DB
from sqlmodel import col, select

from store.models import AgreementVersion


def agreement_versions(db: DB, session_id: str) -> list[AgreementVersion]:
    return list(db.exec(select(AgreementVersion).where(AgreementVersion.session_id == session_id)
                        .order_by(col(AgreementVersion.number))).all())


def latest_agreement(db: DB, session_id: str) -> AgreementVersion | None:
    return db.exec(select(AgreementVersion).where(AgreementVersion.session_id == session_id)
                   .order_by(col(AgreementVersion.number).desc())).first()


def add_agreement_version(db: DB, session_id: str, *, region: str, language: str, source: dict[str, Any],
                          source_hash: str, changes: list[dict[str, Any]], pdf_sha256: str,
                          pages: int) -> AgreementVersion:
    """Append the next version (committed). Two requests racing to add the same number: the
    unique constraint lets one win; the loser gets the winner's row when it is the same source."""
    latest = latest_agreement(db, session_id)
    row = AgreementVersion(session_id=session_id, number=(latest.number + 1) if latest else 1, region=region,
                           language=language, source=source, source_hash=source_hash, changes=changes,
                           pdf_sha256=pdf_sha256, pages=pages)
    db.add(row)
    try:
        db.commit()
    except IntegrityError:
        db.rollback()
        winner = latest_agreement(db, session_id)
        if winner is not None and winner.source_hash == source_hash:
            return winner
        raise
    db.refresh(row)
    return row
