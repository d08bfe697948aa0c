"""`GET /start/<token>`: an agent's signed start link (`accord prefill-link`, later the console)
opens a new session prefilled from the CRM record it names (`integrations.prefill`), and sends
the browser to it. Only a valid, unexpired token starts anything: record ids are never taken from
a bare query string."""

from __future__ import annotations

import logging

from sqlmodel import Session as DB
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from integrations.connectors import Registry
from integrations.prefill import PrefillError, read_link, start_from_record
from web.i18n import _, translator
from web.wizard import Wizard, remember, templates

log = logging.getLogger("accord.web.prefill")

MESSAGES = {
    "invalid": _("This start link is not valid or has expired. Ask for a new one."),
    "failed": _("The record could not be read from the firm's system. Try again in a few minutes."),
}


class PrefillStart:
    def __init__(self, wizard: Wizard, secret: str, registry: Registry) -> None:
        self.wizard, self.secret, self.registry = wizard, secret, registry

    def routes(self) -> list[BaseRoute]:
        return [Route("/start/{token}", self.start, methods=["GET"])]

    async def start(self, request: Request) -> Response:
        try:
            link = read_link(self.secret, request.path_params["token"])
        except PrefillError:
            return self._message("en", "invalid", 404)

        def work() -> str:
            with DB(self.wizard.db) as db:
                return start_from_record(db, self.registry, link["firm"], link["interview"], link["record"],
                                         link["lang"]).id

        try:
            session_id = await run_in_threadpool(work)
        except PrefillError as exc:
            log.warning("prefill failed: %s", type(exc).__name__)
            return self._message(link["lang"], "failed", 502)
        log.info("session started from a record", extra={"session": session_id})
        remember(request, session_id)
        return RedirectResponse(f"/s/{session_id}", status_code=303)

    def _message(self, lang: str, key: str, status: int) -> Response:
        _t = translator(lang)
        html = templates.get_template("message.html").render(_=_t, lang=lang, message=_t(MESSAGES[key]))
        return HTMLResponse(html, status_code=status)
