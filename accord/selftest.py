"""`accord selftest --out DIR`: the whole pipeline, offline, in a temporary data directory, as an
operator's check after installing.

Stages (each timed): a fresh SQLite database migrated and seeded; the loan interview answered with
generated answers (a co-applicant, e-sign consent) and stored step by step; the agreement assembled
and rendered; Accord's CA created; an envelope of the interview's parties with test identities (an
e-mail code each, the codes caught in memory instead of mailed); each party opens, identifies,
consents and signs (PAdES B-LT) in routing order; the seal (certificate of completion, B-LTA); the
audit chain; verification of every signature and of the audit head. It writes `DIR/sealed.pdf` and
`DIR/report.json` (stages with milliseconds, the envelope, the verification) and exits 0 only when
every stage passed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from accord.aio import run_sync

STAFF = {"loan_officers": ("Selftest Loan Officer", "officer@selftest.invalid"),
         "signatories": ("Selftest Lender", "lender@selftest.invalid")}


class Stages:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        entry: dict[str, Any] = {"stage": name, "ok": False}
        self.items.append(entry)
        try:
            yield
            entry["ok"] = True
        finally:
            entry["ms"] = round((time.perf_counter() - started) * 1000, 1)
            print(f"{'ok  ' if entry['ok'] else 'FAIL'} {name}: {entry['ms']} ms", flush=True)


def run(out: Path) -> int:
    import aiohttp
    from sqlmodel import Session as DB

    import engine
    from accord.serve import DEMO_FIRM, seed
    from accord.settings import DEFAULT_INTERVIEWS
    from accord.walk import agreement_session
    from documents.agreements import current_agreement
    from signing import audit, envelopes
    from signing.identity import EmailCode
    from signing.pades import Pades
    from signing.pki import PKI
    from signing.sealing import PadesSigner, audit_check, seal_pending
    from signing.verify import async_verify_pdf
    from store import migrate
    from store.blobs import BlobStore
    from store.database import make_engine
    from store.models import Firm
    from store.sessions import latest_version, save_step, start_session

    out.mkdir(parents=True, exist_ok=True)
    stage = Stages()
    report: dict[str, Any] = {"stages": stage.items}
    with tempfile.TemporaryDirectory(prefix="accord-selftest-") as tmp:
        data = Path(tmp)
        db = make_engine(f"sqlite:///{data / 'accord.db'}")
        blobs = BlobStore(data / "blobs")
        sessions: Callable[[], DB] = lambda: DB(db)  # noqa: E731
        try:
            with stage("database: create, migrate, seed the demo firm"):
                migrate.upgrade(db)
                seed(db, DEFAULT_INTERVIEWS)
            with stage("interview: the loan application answered and stored"), sessions() as s:
                from sqlmodel import select

                firm = s.exec(select(Firm).where(Firm.slug == DEMO_FIRM[0])).one()
                version = latest_version(s, firm, "loan_application")
                assert version is not None
                interview = engine.load(DEFAULT_INTERVIEWS / "loan_application.yml")
                state = next(st for st in (agreement_session(interview, "vi", seeds=[n]) for n in range(200)
                                           if _makes(interview, n)) if st.namespace.get("has_co_applicant"))
                state.namespace.update(applicant_email="applicant@selftest.invalid",
                                       co_applicant_email="co-applicant@selftest.invalid")
                row = start_session(s, firm, version, "vi")
                save_step(s, row, state)
                session_id, firm_id = row.id, firm.id
            with stage("agreement: assembled and rendered (PDF/A-2b, signature fields reserved)"), sessions() as s:
                current = current_agreement(s, blobs, session_id)
                report["agreement"] = {"pages": current.version.pages, "sha256": current.version.pdf_sha256,
                                       "region": current.source.region, "clauses": len(current.source.clauses)}
            with stage("PKI: Accord's CA created (keys encrypted)"):
                pki = PKI.open(data / "pki", "http://127.0.0.1:8000/pki")
            codes: dict[str, str] = {}
            method = EmailCode(b"selftest", lambda p, code: codes.__setitem__(p.id, code))
            with stage("envelope: created from the parties block and sent"), sessions() as s:
                parties = [replace(p, identity=("email_code",)) if p.action != "cc" else p
                           for p in envelopes.parties_from_source(current.source, STAFF)]
                envelope = envelopes.create(s, firm_id or 0, title=current.source.title, pdf_sha256=current.version
                                            .pdf_sha256, language=current.source.language, parties=parties,
                                            session_id=session_id, agreement_version_id=current.version.id)
                envelope_id = envelope.id
                envelopes.send(s, envelope_id)

            async def ceremony_and_seal() -> dict[str, Any]:
                async with aiohttp.ClientSession() as http:
                    pades = Pades(pki, http, font_cache=data / "fonts")
                    signer = PadesSigner(pki, pades)
                    while True:
                        with sessions() as s:
                            _e, people = envelopes.load(s, envelope_id)
                            due = [p for p in people if p.status == "notified" and p.action != "cc"]
                        if not due:
                            break
                        for p in due:
                            with stage(f"sign: {p.role} ({p.action})"):
                                await _act(sessions, blobs, signer, method, codes, p)
                    with stage("seal: certificate of completion, PAdES B-LTA"):
                        assert await seal_pending(sessions, blobs, pades, envelope_id)
                    with sessions() as s:
                        envelope, _ = envelopes.load(s, envelope_id)
                        pdf = blobs.get(envelope.current_sha256)
                    with stage("audit chain recomputed"), sessions() as s:
                        chain = audit.verify(audit.events(s, envelope_id))
                        assert chain.ok, chain.problems
                    with stage("verify: every signature, timestamp and the audit head"):
                        result = await async_verify_pdf(pdf, [pki.root], audit_check=audit_check(sessions))
                        assert result.ok, result.summary
                    (out / "sealed.pdf").write_bytes(pdf)
                    return {"envelope": envelope_id, "final_sha256": envelope.current_sha256, "bytes": len(pdf),
                            "audit_events": chain.count, "audit_head": chain.head, "verification": result.summary,
                            "signatures": [{"field": c.field, "kind": c.kind, "ok": c.ok, "summary": c.summary}
                                           for c in result.signatures]}

            report["result"] = run_sync(ceremony_and_seal())
        except Exception as exc:  # the report says which stage failed and why
            report["error"] = f"{type(exc).__name__}: {exc}"
            print(f"selftest failed: {report['error']}", file=sys.stderr)
        finally:
            db.dispose()
    report["ok"] = "error" not in report and all(s["ok"] for s in stage.items)
    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"{'selftest passed' if report['ok'] else 'selftest FAILED'}: {out / 'report.json'}")
    return 0 if report["ok"] else 1


def _makes(interview: Any, seed_: int) -> bool:
    from accord.walk import agreement_session

    try:
        agreement_session(interview, "vi", seeds=[seed_])
    except RuntimeError:
        return False
    return True


async def _act(sessions: Any, blobs: Any, signer: Any, method: Any, codes: dict[str, str], p: Any) -> None:
    """One participant's turn, as the signer's page does it: open, e-mail code, consent, act."""
    from signing import ceremony, envelopes
    from store.models import Participant

    with sessions() as s:
        envelopes.opened(s, p.id)
        me = s.get(Participant, p.id)
        method.start(s, me)
        verified = method.check(s, me, codes[p.id])
        envelopes.identified(s, p.id, verified.method, verified.evidence)
        if p.action in ("sign", "witness"):
            envelopes.consented(s, p.id, "esign-disclosure-v1")
    identity = ceremony.SignerIdentity(name=p.name, email=p.email, role=p.role, method="email_code")
    await ceremony.sign(sessions, blobs, signer, p.id, identity, image=None, image_kind="typed",
                        verify_url="http://127.0.0.1:8000/verify")


def cmd_selftest(args: argparse.Namespace) -> int:
    return run(Path(args.out))
