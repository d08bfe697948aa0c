"""The verification page: upload a signed PDF (or arrive from a stamp's QR code) and see every
signature's validation in plain language, plus whether the file is the sealed final document of
an envelope on this server with an intact audit trail.

    GET  /verify     the upload form
    POST /verify     the results (the file is read, checked and forgotten: nothing is stored)
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from sqlalchemy import Engine
from sqlmodel import Session as DB
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from signing.pki import PKI
from signing.verify import SignatureCheck, Verification
from web.i18n import _, translator
from web.signing import METHOD_NAMES
from web.wizard import templates

MAX_PDF = 25 * 1024 * 1024
LATER = "(certificate checked at the timestamped signing time)"  # signing.verify's note for an expired certificate
KINDS = {"certification": _("certification signature"), "approval": _("approval signature"),
         "document timestamp": _("document timestamp"), "unknown": _("unreadable signature")}
AFTER = {"NONE": _("nothing was changed after it"), "FORM_FILLING": _("only further signatures were added after it"),
         "LTA_UPDATES": _("only validation data and timestamps were added after it")}
AUDIT = [
    (re.compile(r"^no envelope in this database"),
     _("No envelope on this server has this file as its final document.")),
    (re.compile(r"^envelope (?P<id>\S+): the audit trail is broken"),
     _("Envelope %(id)s: the audit trail is broken (an event was changed, removed or reordered).")),
    (re.compile(r"^envelope (?P<id>\S+): this file is not its sealed document"),
     _("Envelope %(id)s: this file is not its sealed document.")),
    (re.compile(r"^envelope (?P<id>\S+): the certificate's audit head does not match"),
     _("Envelope %(id)s: the certificate of completion does not match the audit trail.")),
    (re.compile(r"^envelope (?P<id>\S+): audit trail intact \((?P<count>\d+) events\), head (?P<head>\S+)"),
     _("Envelope %(id)s: audit trail intact (%(count)s events), head %(head)s")),
]


def verdict_text(result: Verification, _t: Callable[[str], str]) -> str:
    """The overall verdict in the page's language (signing.verify's own summary is English)."""
    if not result.signatures:
        if "no signatures" in result.problems:
            return _t("The PDF has no signatures.")
        return _t("The file is damaged or not a PDF.")
    bad = [c for c in result.signatures if not c.ok]
    if bad:
        return _t("%(bad)s of %(total)s signatures or timestamps failed: %(fields)s") % {
            "bad": len(bad), "total": len(result.signatures), "fields": ", ".join(c.field for c in bad)}
    if not result.ok:
        return _t("The signatures are valid but the audit check failed.")
    return _t("All %(total)s signatures and timestamps are intact, valid and trusted.") % {
        "total": len(result.signatures)}


def signature_text(c: SignatureCheck, _t: Callable[[str], str]) -> str:
    """One signature's result in plain language, from the structured check."""
    when = ""
    if c.time is not None:
        when = " " + _t("at %(time)s UTC") % {"time": f"{c.time.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S}"}
    who = f"{c.signer} <{c.email}>" if c.email else c.signer
    if c.ok:
        what = (_t("Timestamped by") if c.kind == "document timestamp" else
                _t("Certified and signed by") if c.kind == "certification" else _t("Signed by"))
        fine = _t("intact, valid and trusted")
        text = f"{what} {who}{when}: {fine}"
        if LATER in c.summary:
            text += " " + _t("(certificate checked at the timestamped signing time)")
        after = AFTER.get(c.modification_level or "NONE")
        return text + (f"; {_t(after)}." if after else ".")
    problems = []
    if c.kind == "unknown":
        problems.append(_t("the signature or the file is damaged"))
    elif not c.intact:
        problems.append(_t("the signed bytes were changed after signing"))
    elif not c.valid:
        problems.append(_t("the cryptographic signature is wrong"))
    if c.intact and c.valid and not c.trusted:
        problems.append(_t("the certificate does not chain to a trusted root, was revoked, or lacks revocation data"))
    if c.modification_level is not None and c.modification_level not in AFTER:
        problems.append(_t("the document was changed after this signature in a way that is not allowed"))
    if c.docmdp_ok is False:
        problems.append(_t("the changes after it break the certification (DocMDP) rules"))
    if c.timestamp_ok is False:
        problems.append(_t("its RFC 3161 timestamp does not validate"))
    not_valid = _t("NOT VALID")
    return f"{not_valid}: {who}{when}: " + "; ".join(problems) + "."


def audit_text(audit: tuple[bool, str], _t: Callable[[str], str]) -> str:
    for pattern, message in AUDIT:
        found = pattern.match(audit[1])
        if found:
            return _t(message) % found.groupdict()
    return _t("The audit check failed.") if not audit[0] else _t("The audit check passed.")


class VerifyPage:
    def __init__(self, db: Engine, pki: PKI | None) -> None:
        self.db, self.pki = db, pki

    def routes(self) -> list[BaseRoute]:
        return [Route("/verify", self.form, methods=["GET"]), Route("/verify", self.check, methods=["POST"])]

    def _lang(self, request: Request) -> str:
        return "vi" if request.query_params.get("lang") == "vi" else "en"

    def _page(self, request: Request, status: int = 200, **context: object) -> Response:
        lang = self._lang(request)
        _t = translator(lang)
        html = templates.get_template("verify.html").render(
            _=_t, lang=lang, verdict_text=lambda r: verdict_text(r, _t), signature_text=lambda c: signature_text(c, _t),
            audit_text=lambda a: audit_text(a, _t), kinds={k: _t(v) for k, v in KINDS.items()},
            method_names={k: _t(v) for k, v in METHOD_NAMES.items()}, **context)
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})

    async def form(self, request: Request) -> Response:
        return self._page(request)

    async def check(self, request: Request) -> Response:
        from signing.sealing import audit_check
        from signing.verify import async_verify_pdf

        _t = translator(self._lang(request))
        if self.pki is None:
            return self._page(request, 503, error=_t("Verification is not available on this server right now."))
        async with request.form(max_files=1, max_fields=5, max_part_size=MAX_PDF) as form:
            upload = form.get("file")
            data = await upload.read(MAX_PDF + 1) if isinstance(upload, UploadFile) else b""
        if not data.startswith(b"%PDF") or len(data) > MAX_PDF:
            return self._page(request, 422, error=_t("Choose a PDF file (25 MB at most)."))
        result = await async_verify_pdf(data, [self.pki.root], audit_check=audit_check(lambda: DB(self.db)))
        return self._page(request, 200, result=result)
