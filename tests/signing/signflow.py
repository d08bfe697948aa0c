"""Helpers of the signing tests: the rendered loan agreement, the parties, the signing flow."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

import engine
from accord.walk import agreement_session
from documents import RenderedDocument, render_pdf, template_path
from documents.schedule import schedule_extra
from signing.pades import Completion, DocumentDigest, Event, Pades, Participant, Stamp
from signing.pki import PKI
from signing.services import LoopbackServer

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
LOAN = ROOT / "interviews" / "loan_application.yml"
WHEN = dt.datetime(2026, 8, 1, 9, 30, tzinfo=dt.UTC)
PASSPHRASE = "test passphrase, not a secret"

# Who signs which field of the loan agreement (the interview's parties with a signing action).
PEOPLE = {
    "applicant": ("Nguyễn Thị Hương", "huong@example.vn", ["email_code", "sms_code"]),
    "co_applicant": ("Trần Văn Đức", "duc@example.vn", ["email_code", "id_document"]),
    "loan_officer": ("Lê Minh Anh", "anh@bank.example", ["staff_login"]),
    "lender": ("Phạm Quốc Bảo", "bao@bank.example", ["passkey"]),
}


@dataclass
class Services:
    pki: PKI
    directory: Path
    server: LoopbackServer


@dataclass
class SignedFlow:
    unsigned: RenderedDocument
    revisions: list[bytes]  # after each signature, then after the seal
    signed_by: dict[str, str]  # field -> signer name

    @property
    def final(self) -> bytes:
        return self.revisions[-1]


def run(coro: Coroutine[Any, Any, T]) -> T:
    """asyncio.run in a thread of its own: other suites (Playwright's sync API) leave a loop running in the
    main thread for the whole session, where asyncio.run refuses to start."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def signature_png() -> bytes:
    """A drawn signature as the browser's signature pad sends it: a transparent PNG with a dark stroke."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (300, 100), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(10, 70), (60, 20), (90, 80), (140, 30), (190, 75), (240, 25), (290, 60)],
                               fill=(20, 30, 120, 255), width=5, joint="curve")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _makes_agreement(iv: engine.Interview, seed: int) -> bool:
    try:
        agreement_session(iv, "vi", seeds=[seed])
    except RuntimeError:
        return False
    return True


def loan_agreement() -> RenderedDocument:
    """The shipped loan agreement from generated answers, with a co-applicant, in Vietnamese."""
    iv = engine.load(LOAN)
    for seed in range(200):  # the first generated session with a co-applicant
        state = agreement_session(iv, "vi", seeds=[seed]) if _makes_agreement(iv, seed) else None
        if state is not None and state.namespace.get("has_co_applicant") is True:
            break
    else:
        raise RuntimeError("no generated loan session has a co-applicant")
    state.namespace.update({"applicant_name": PEOPLE["applicant"][0], "co_applicant_name": PEOPLE["co_applicant"][0],
                            "applicant_email": PEOPLE["applicant"][1], "co_applicant_email": PEOPLE["co_applicant"][1],
                            "applicant_region": "VN-HN", "language_of_agreement": "vi"})
    source = engine.assemble(iv, state, day=WHEN.date())
    return render_pdf(source, template_path(LOAN, source.template), extra=schedule_extra(state.namespace, source),
                      timestamp=WHEN)


def completion(doc: RenderedDocument, before_seal: bytes, signed_by: dict[str, str]) -> Completion:
    import hashlib

    participants = [Participant(name=PEOPLE[f[4:]][0], email=PEOPLE[f[4:]][1], role=f[4:],
                                identity=" + ".join(PEOPLE[f[4:]][2]), result="passed", ip="203.0.113.7",
                                device="Firefox 140 / Linux", sent="2026-08-01 09:31", viewed="2026-08-01 09:40",
                                signed="2026-08-01 09:45", consent="e-sign consent given") for f in signed_by]
    events = [Event(at=f"2026-08-01 09:{40 + i:02d}:00", actor=p.name, event="signed", detail=p.role,
                    ip="203.0.113.7") for i, p in enumerate(participants)]
    return Completion(envelope_id="ENV-2026-000123", title="Hợp đồng vay / Loan agreement",
                      completed_at="2026-08-01 09:50:00", documents=[DocumentDigest(
                          "loan_agreement.pdf", doc.sha256, hashlib.sha256(before_seal).hexdigest())],
                      participants=participants, events=events, audit_head="9f" * 32)


async def sign_all(pki: PKI, doc: RenderedDocument) -> SignedFlow:
    image = signature_png()
    pdf, revisions, signed_by = doc.pdf, [], {}
    async with aiohttp.ClientSession() as session:
        pades = Pades(pki, session)
        for field in doc.signature_fields:
            if field == "platform_seal":
                continue
            name, email, identity = PEOPLE[field.removeprefix("sig_")]
            credential = pki.issue_signer(name, email, identity, reference="CCCD-001190012345")
            pdf = await pades.sign(pdf, field, credential, Stamp(
                name=name, verify_url=f"https://accord.example/verify/ENV-2026-000123#{field}",
                role=field.removeprefix("sig_"), identity=" + ".join(identity), image_png=image))
            revisions.append(pdf)
            signed_by[field] = name
        pdf = await pades.seal(pdf, completion(doc, pdf, signed_by))
        revisions.append(pdf)
    return SignedFlow(doc, revisions, signed_by)
