"""The verification page: upload a signed PDF (or arrive from a stamp's QR code) and see every
signature's validation in plain language, plus whether the file is the sealed final document of
an envelope on this server with an intact audit trail.

    GET  /verify     the upload form
    POST /verify     the results (the file is read, checked and forgotten: nothing is stored)
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import Session as DB
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from signing.pki import PKI
from web.i18n import translator
from web.wizard import templates

MAX_PDF = 25 * 1024 * 1024


class VerifyPage:
    def __init__(self, db: Engine, pki: PKI | None) -> None:
        self.db, self.pki = db, pki

    def routes(self) -> list[BaseRoute]:
        return [Route("/verify", self.form, methods=["GET"]), Route("/verify", self.check, methods=["POST"])]

    def _lang(self, request: Request) -> str:
        return "vi" if request.query_params.get("lang") == "vi" else "en"

    def _page(self, request: Request, status: int = 200, **context: object) -> Response:
        lang = self._lang(request)
        html = templates.get_template("verify.html").render(_=translator(lang), lang=lang, **context)
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
