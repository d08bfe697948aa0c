"""The agreement in the browser before signing: the HTML preview (the same assembled source as
the PDF), the PDF of each version, and the versions with their clause-by-clause changes.

    GET /s/{id}/agreement              assemble (a new version only when something changed), preview
    GET /s/{id}/agreement/{n}.pdf      the PDF of version n, from the blob store
    GET /s/{id}/agreement/versions     every version and what changed from the one before

Same ownership rule as the wizard: the session id must be in this browser's signed cookie.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup
from sqlalchemy import Engine
from sqlmodel import Session as DB
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

import engine
from documents.agreements import CurrentAgreement, current_agreement
from documents.preview import preview_html
from documents.render import RenderError
from store.agreements import agreement_versions
from store.blobs import BlobNotFound, BlobStore
from store.models import AgreementVersion
from store.sessions import SessionNotFound, load_state
from web.i18n import translator
from web.wizard import Wizard, templates

log = logging.getLogger("accord.web.agreement")


@dataclass
class Page:
    status: int
    lang: str
    current: CurrentAgreement | None = None
    versions: list[AgreementVersion] | None = None
    problem: str | None = None


class AgreementPages:
    def __init__(self, db: Engine, wizard: Wizard, blob_dir: Path) -> None:
        self.db = db
        self.wizard = wizard
        self.blobs = BlobStore(blob_dir)

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/s/{session_id}/agreement", self.preview, methods=["GET"]),
            Route("/s/{session_id}/agreement/versions", self.versions, methods=["GET"]),
            Route("/s/{session_id}/agreement/{number:int}.pdf", self.pdf, methods=["GET"]),
        ]

    async def preview(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]
        if not self.wizard._owned(request, session_id):
            return self.wizard._plain(request, 404)
        page = await run_in_threadpool(self._current, session_id)
        if page.status == 404:
            return self.wizard._plain(request, 404)
        _t = translator(page.lang)
        context: dict[str, Any] = {"_": _t, "lang": page.lang, "session_id": session_id, "problem": page.problem}
        if page.current is not None:
            html = preview_html(page.current.source, page.current.extra)  # autoescaped by its own template
            context.update(agreement=page.current.version, preview=Markup(html))
        html = templates.get_template("agreement.html").render(context)
        return HTMLResponse(html, status_code=page.status, headers={"Cache-Control": "no-store"})

    async def versions(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]
        if not self.wizard._owned(request, session_id):
            return self.wizard._plain(request, 404)
        page = await run_in_threadpool(self._versions, session_id)
        if page.status == 404:
            return self.wizard._plain(request, 404)
        _t = translator(page.lang)
        html = templates.get_template("agreement_versions.html").render(
            _=_t, lang=page.lang, session_id=session_id, versions=list(reversed(page.versions or [])))
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    async def pdf(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]
        number = request.path_params["number"]
        if not self.wizard._owned(request, session_id):
            return self.wizard._plain(request, 404)
        page = await run_in_threadpool(self._versions, session_id)
        row = next((v for v in page.versions or [] if v.number == number), None)
        if row is None:
            return self.wizard._plain(request, 404, page.lang)
        try:
            data = await run_in_threadpool(self.blobs.get, row.pdf_sha256)
        except BlobNotFound:
            log.error("agreement PDF missing from the blob store", extra={"session": session_id})
            return self.wizard._plain(request, 404, page.lang)
        return Response(data, media_type="application/pdf", headers={
            "Content-Disposition": f'inline; filename="agreement-v{number}.pdf"',
            "Cache-Control": "private, no-store", "X-Content-SHA256": row.pdf_sha256})

    # -- units of work ----------------------------------------------------------------------

    def _current(self, session_id: str) -> Page:
        with DB(self.db) as db:
            try:
                session, state = load_state(db, session_id)
            except SessionNotFound:
                return Page(404, "en")
            _t = translator(state.lang)
            try:
                current = current_agreement(db, self.blobs, session_id)
            except engine.InterviewError:
                return Page(409, state.lang, problem=_t(
                    "Your agreement is not ready yet: answer the remaining questions first."))
            except RenderError:
                log.exception("agreement rendering failed", extra={"session": session_id})
                return Page(500, state.lang, problem=_t(
                    "The agreement could not be prepared. We have been told; please try again later."))
            if current.created:
                log.info("agreement version assembled", extra={"session": session_id})
            return Page(200, state.lang, current=current)

    def _versions(self, session_id: str) -> Page:
        with DB(self.db) as db:
            try:
                session, _state = load_state(db, session_id)
            except SessionNotFound:
                return Page(404, "en")
            return Page(200, session.lang, versions=agreement_versions(db, session_id))
