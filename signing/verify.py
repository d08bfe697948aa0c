"""Validate every signature and document timestamp of a PDF against Accord's root, as plain data.

Each signature is checked with pyHanko: **intact** (the signed bytes hash to the signed digest), **valid** (the
CMS signature is correct), **trusted** (the certificate chains to a given root and was not revoked, using only
the revocation data embedded in the PDF: B-LT/B-LTA files validate offline), the **modification level** of
everything appended after it (only further signatures, `FORM_FILLING`, or DSS/timestamps, `LTA_UPDATES`, are
acceptable), **DocMDP** (what the certification signature allows), and its RFC 3161 **timestamp**.

Per-signer certificates live one day, so a check after that day would find them expired "now". When the only
problem at the current time is that, the signature is checked again at the time its RFC 3161 timestamp proves
(point-in-time validation with the embedded revocation data); the summary says so. This is not a full ETSI
AdES-LTA validation (`pyhanko.sign.validation.ades`), which the archive timestamp chain also allows.

`audit_check` is the hook for the envelope layer: it receives the PDF and the signature results and returns
`(ok, message)` for the certificate of completion's audit head (checked against the stored audit chain).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

GOOD_LEVELS = ("NONE", "FORM_FILLING", "LTA_UPDATES")
AuditCheck = Callable[[bytes, Sequence["SignatureCheck"]], tuple[bool, str]]


@dataclass(frozen=True)
class SignatureCheck:
    field: str
    kind: str  # "certification", "approval" or "document timestamp"
    signer: str  # the certificate's common name
    email: str | None
    identity: tuple[str, ...]  # identity methods recorded in an Accord signer certificate
    time: dt.datetime | None  # the RFC 3161 time (signature timestamp, or the document timestamp itself)
    intact: bool
    valid: bool
    trusted: bool
    modification_level: str | None
    docmdp_ok: bool | None
    timestamp_ok: bool | None
    ok: bool
    summary: str
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verification:
    ok: bool
    summary: str
    signatures: tuple[SignatureCheck, ...] = ()
    audit: tuple[bool, str] | None = None
    problems: tuple[str, ...] = field(default_factory=tuple)


def load_roots(pem: bytes) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(pem)


def verify_pdf(pdf: bytes, roots: Sequence[x509.Certificate], *, audit_check: AuditCheck | None = None) -> Verification:
    """Synchronous wrapper (CLI, scripts). Inside an event loop, await `async_verify_pdf` instead; if this is
    called from a thread whose loop is running anyway (e.g. under Playwright's sync API), it runs in a worker
    thread with its own loop rather than failing."""
    coro = async_verify_pdf(pdf, roots, audit_check=audit_check)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def async_verify_pdf(pdf: bytes, roots: Sequence[x509.Certificate], *,
                           audit_check: AuditCheck | None = None) -> Verification:
    from asn1crypto import x509 as a_x509
    from pyhanko.pdf_utils.reader import PdfFileReader

    trust = [a_x509.Certificate.load(r.public_bytes(serialization.Encoding.DER)) for r in roots]
    try:
        reader = PdfFileReader(io.BytesIO(pdf))
        embedded = list(reader.embedded_signatures)
    except Exception as exc:  # pyHanko raises several types for damaged files
        return Verification(False, f"The file is damaged or not a PDF ({type(exc).__name__}: {exc}).",
                            problems=(str(exc),))
    if not embedded:
        return Verification(False, "The PDF has no signatures.", problems=("no signatures",))
    checks = []
    for sig in embedded:
        try:
            checks.append(await _check(reader, sig, trust))
        except Exception as exc:
            name = getattr(sig, "field_name", "?")
            checks.append(SignatureCheck(
                field=name, kind="unknown", signer="?", email=None, identity=(), time=None, intact=False,
                valid=False, trusted=False, modification_level=None, docmdp_ok=None, timestamp_ok=None, ok=False,
                summary=f"Could not be checked: the signature or the file is damaged ({type(exc).__name__}).",
                problems=(str(exc),)))
    audit = audit_check(pdf, checks) if audit_check else None
    bad = [c for c in checks if not c.ok]
    ok = not bad and (audit is None or audit[0])
    if ok:
        summary = f"All {len(checks)} signatures and timestamps are intact, valid and trusted."
    elif bad:
        summary = f"{len(bad)} of {len(checks)} signatures or timestamps failed: " + ", ".join(c.field for c in bad)
    else:
        summary = f"The signatures are valid but the audit check failed: {audit[1] if audit else ''}"
    return Verification(ok, summary, tuple(checks), audit, tuple(p for c in bad for p in c.problems))


def _context(reader: Any, trust: list[Any], moment: dt.datetime | None = None) -> Any:
    from pyhanko.sign.validation.dss import DocumentSecurityStore
    from pyhanko.sign.validation.errors import NoDSSFoundError

    kwargs: dict[str, Any] = {"trust_roots": trust, "allow_fetching": False, "revocation_mode": "hard-fail"}
    if moment is not None:
        kwargs.update(moment=moment, retroactive_revinfo=True)
    try:
        return DocumentSecurityStore.read_dss(reader).as_validation_context(kwargs)
    except NoDSSFoundError:
        from pyhanko_certvalidator import ValidationContext

        return ValidationContext(**kwargs)


async def _check(reader: Any, sig: Any, trust: list[Any]) -> SignatureCheck:
    from pyhanko.sign.validation import async_validate_pdf_signature, async_validate_pdf_timestamp

    is_ts = sig.sig_object_type == "/DocTimeStamp"
    status: Any
    if is_ts:
        status = await async_validate_pdf_timestamp(sig, validation_context=_context(reader, trust))
    else:
        status = await async_validate_pdf_signature(sig, signer_validation_context=_context(reader, trust))
    later = ""
    tst = getattr(status, "timestamp_validity", None)
    if not is_ts and status.intact and status.valid and not status.trusted and tst is not None and tst.valid:
        again = await async_validate_pdf_signature(
            sig, signer_validation_context=_context(reader, trust, tst.timestamp))
        if again.trusted:
            status, later = again, " (certificate checked at the timestamped signing time)"
    return _summarise(sig, status, is_ts, later)


def _summarise(sig: Any, status: Any, is_ts: bool, later: str) -> SignatureCheck:
    from signing.pki import identity_methods

    cert = x509.load_der_x509_certificate(status.signing_cert.dump())
    cn = ", ".join(str(a.value) for a in cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)) or "?"
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        email: str | None = next(iter(sans.get_values_for_type(x509.RFC822Name)), None)
    except x509.ExtensionNotFound:
        email = None
    level = status.modification_level.name if status.modification_level is not None else None
    problems = []
    if not status.intact:
        problems.append("the signed bytes were changed after signing")
    elif not status.valid:
        problems.append("the cryptographic signature is wrong")
    if status.intact and status.valid and not status.trusted:
        problems.append("the certificate does not chain to a trusted root, was revoked, or lacks revocation data")
    if level is not None and level not in GOOD_LEVELS:
        problems.append(f"the document was changed after this signature in a way that is not allowed ({level})")
    ts_ok: bool | None = True
    docmdp: bool | None
    if is_ts:
        kind, time, docmdp = "document timestamp", status.timestamp, None
    else:
        docmdp = None if status.docmdp_ok is None else bool(status.docmdp_ok)
        if docmdp is False:
            problems.append("the changes after it break the certification (DocMDP) rules")
        kind = "certification" if sig.sig_object_type == "/Sig" and _is_certification(sig) else "approval"
        tst = status.timestamp_validity
        ts_ok = None if tst is None else bool(tst.intact and tst.valid and tst.trusted)
        time = tst.timestamp if tst is not None else None
        if ts_ok is False:
            problems.append("its RFC 3161 timestamp does not validate")
    ok = not problems and bool(status.intact and status.valid and status.trusted)
    when = f" at {time.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC" if time else ""
    who = f"{cn} <{email}>" if email else cn
    if ok:
        what = "Timestamped by" if is_ts else ("Certified and signed by" if kind == "certification" else "Signed by")
        after = {"NONE": "nothing was changed after it", "FORM_FILLING": "only further signatures were added after it",
                 "LTA_UPDATES": "only validation data and timestamps were added after it"}.get(level or "NONE", "")
        summary = f"{what} {who}{when}: intact, valid and trusted{later}; {after}."
    else:
        summary = f"NOT VALID: {who}{when}: " + "; ".join(problems) + "."
    return SignatureCheck(
        field=sig.field_name, kind=kind, signer=cn, email=email, identity=tuple(identity_methods(cert)), time=time,
        intact=bool(status.intact), valid=bool(status.valid), trusted=bool(status.trusted), modification_level=level,
        docmdp_ok=docmdp, timestamp_ok=ts_ok, ok=ok, summary=summary, problems=tuple(problems))


def _is_certification(sig: Any) -> bool:
    refs = sig.sig_object.get("/Reference")
    if not refs:
        return False
    return any(ref.get("/TransformMethod") == "/DocMDP" for ref in refs)
