"""A session's agreement, assembled, rendered and kept as numbered versions.

`current_agreement` is what the web layer calls before showing the preview: it assembles the
agreement from the session's answers; when the result (clauses, parties, payment, schedule)
differs from the latest stored version it renders the PDF, puts it in the blob store and appends
a new version carrying the clause-by-clause changes from the one before. Viewing again without
changing an answer returns the same version: versions count real changes, not page views.

The agreement date is fixed by the first version (a preview opened tomorrow is still the same
agreement); later versions keep it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session as DB

import engine
from documents.render import render_pdf, template_path
from documents.schedule import schedule_extra
from documents.versions import diff_agreements
from engine.assembly import source_from_json, source_to_json
from store.agreements import add_agreement_version, latest_agreement
from store.blobs import BlobStore
from store.models import AgreementVersion, InterviewVersion
from store.sessions import compile_version, load_state


@dataclass(frozen=True)
class CurrentAgreement:
    version: AgreementVersion
    source: engine.AgreementSource
    extra: dict[str, Any]
    created: bool  # True when this call appended the version


def _hash(record: dict[str, Any], extra: dict[str, Any]) -> str:
    canonical = json.dumps({"source": record, "extra": extra}, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def current_agreement(db: DB, blobs: BlobStore, session_id: str, today: dt.date | None = None) -> CurrentAgreement:
    """Raises `engine.InterviewError` when the session cannot make an agreement (yet)."""
    session, state = load_state(db, session_id)
    version = db.get(InterviewVersion, session.interview_version_id)
    assert version is not None
    interview = compile_version(version)
    latest = latest_agreement(db, session_id)
    day = dt.date.fromisoformat(latest.source["date"]) if latest is not None else (today or dt.date.today())
    source = engine.assemble(interview, state, day)
    extra = json.loads(json.dumps(schedule_extra(state.namespace, source), default=str))
    record = source_to_json(source)
    digest = _hash(record, extra)
    if latest is not None and latest.source_hash == digest:
        return CurrentAgreement(latest, source, extra, created=False)
    assert interview.path is not None
    document = render_pdf(source, template_path(interview.path, source.template), extra=extra,
                          timestamp=dt.datetime.combine(source.date, dt.time(0), dt.UTC))
    pdf_sha = blobs.put(document.pdf)
    changes = []
    if latest is not None:
        changes = [dataclasses.asdict(c) for c in diff_agreements(source_from_json(latest.source), source)]
    row = add_agreement_version(db, session_id, region=source.region, language=source.language, source=record,
                                source_hash=digest, changes=changes, pdf_sha256=pdf_sha, pages=document.pages)
    return CurrentAgreement(row, source, extra, created=True)
