"""Signing speed: the shipped loan agreement (4 signature fields + the platform seal) signed by every party at
PAdES B-LT (signature timestamp + OCSP/CRL in the DSS, visible QR stamp with a signature image), then sealed with
the certificate of completion, DSS and document timestamp (B-LTA). Accord's own TSA, OCSP responder and CRLs run
on a loopback server in this process; one shared aiohttp session, as in the web app.

Prints one `name: value unit` line per result, medians over ROUNDS complete flows after one warm-up flow:
- per signature median: one party's `Pades.sign` (including issuing the one-day certificate);
- per signature CPU median: the same, as CPU time of this process (the in-process TSA/OCSP/CRL work included);
  on a loaded machine wall time varies a lot more than this;
- seal median: `Pades.seal` (certificate of completion rendered by Typst, e-seal, DSS, document timestamp),
  and its CPU time.

    python bench/signing.py
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

import engine  # noqa: E402
from accord.walk import agreement_session  # noqa: E402
from documents import render_pdf, template_path  # noqa: E402
from documents.schedule import schedule_extra  # noqa: E402
from signing.pades import Completion, DocumentDigest, Event, Pades, Participant, Stamp  # noqa: E402
from signing.pki import PKI  # noqa: E402
from signing.services import LoopbackServer, TrustServices, free_port  # noqa: E402

LOAN = ROOT / "interviews" / "loan_application.yml"
ROUNDS = 5
NAMES = ["Nguyễn Thị Hương", "Trần Văn Đức", "Lê Minh Anh", "Phạm Quốc Bảo"]


def signature_png() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (300, 100), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(10, 70), (60, 20), (90, 80), (140, 30), (190, 75), (240, 25)],
                               fill=(20, 30, 120, 255), width=5)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def agreement() -> tuple[bytes, tuple[str, ...]]:
    iv = engine.load(LOAN)
    for seed in range(200):
        try:
            state = agreement_session(iv, "vi", seeds=[seed])
        except RuntimeError:
            continue
        if state.namespace.get("has_co_applicant") is True:
            break
    source = engine.assemble(iv, state, day=dt.date(2026, 8, 1))
    doc = render_pdf(source, template_path(LOAN, source.template), extra=schedule_extra(state.namespace, source),
                     timestamp=dt.datetime(2026, 8, 1, tzinfo=dt.UTC))
    return doc.pdf, doc.signature_fields


async def flow(pades: Pades, pki: PKI, pdf: bytes, fields: tuple[str, ...], image: bytes | None,
               per_signature: list[float], seals: list[float], cpu: list[float] | None = None,
               seal_cpu: list[float] | None = None) -> None:
    for i, name in enumerate(f for f in fields if f != "platform_seal"):
        start, cpu_start = time.perf_counter(), time.process_time()
        cred = pki.issue_signer(NAMES[i % len(NAMES)], f"p{i}@example.vn", ["email_code", "sms_code"])
        pdf = await pades.sign(pdf, name, cred, Stamp(name=NAMES[i % len(NAMES)], role=name[4:],
                                                      identity="email + SMS code", image_png=image,
                                                      verify_url=f"https://accord.example/verify/ENV-1#{name}"))
        per_signature.append(time.perf_counter() - start)
        if cpu is not None:
            cpu.append(time.process_time() - cpu_start)
    completion = Completion(
        envelope_id="ENV-1", title="Loan agreement", completed_at="2026-08-01 10:00:00",
        documents=[DocumentDigest("loan.pdf", "0" * 64, "1" * 64)],
        participants=[Participant(n, "p@example.vn", "applicant", "email_code", "passed", "203.0.113.7", "Firefox",
                                  "09:00", "09:10", "09:20", "yes") for n in NAMES],
        events=[Event(f"2026-08-01 09:{i:02d}:00", NAMES[i % 4], "viewed", "page 1", "203.0.113.7")
                for i in range(20)],
        audit_head="ab" * 32)
    start, cpu_start = time.perf_counter(), time.process_time()
    await pades.seal(pdf, completion)
    seals.append(time.perf_counter() - start)
    if seal_cpu is not None:
        seal_cpu.append(time.process_time() - cpu_start)


async def main() -> None:
    pdf, fields = agreement()
    image = signature_png()
    with tempfile.TemporaryDirectory() as tmp:
        pki = PKI.open(Path(tmp) / "pki", f"http://127.0.0.1:{free_port()}/pki", passphrase="bench")
        with LoopbackServer(TrustServices(pki)):
            async with aiohttp.ClientSession() as session:
                pades = Pades(pki, session)
                await flow(pades, pki, pdf, fields, image, [], [])  # warm-up: font, Typst, imports
                per_signature: list[float] = []
                seals: list[float] = []
                cpu: list[float] = []
                seal_cpu: list[float] = []
                for _ in range(ROUNDS):
                    await flow(pades, pki, pdf, fields, image, per_signature, seals, cpu, seal_cpu)
    print(f"per signature median: {statistics.median(per_signature) * 1000:.0f} ms "
          f"({len(per_signature)} signatures, min {min(per_signature) * 1000:.0f}, "
          f"max {max(per_signature) * 1000:.0f})")
    print(f"per signature CPU median: {statistics.median(cpu) * 1000:.0f} ms (process CPU time, services included)")
    print(f"seal median: {statistics.median(seals) * 1000:.0f} ms ({len(seals)} seals)")
    print(f"seal CPU median: {statistics.median(seal_cpu) * 1000:.0f} ms")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (wall times grow with it)")


if __name__ == "__main__":
    asyncio.run(main())
