"""The console's webhook pages and delivery outcomes: what `accord webhook …` and `accord
completion …` do on the command line, through the same domain functions (`integrations.webhooks`,
`integrations.completion`).

    GET  /console/webhooks                       the firm's endpoints, "add an endpoint", private targets
    POST /console/webhooks                       add one (its signing secret is shown once, on the answer)
    POST /console/webhooks/private               allow or refuse private and loopback targets
    GET  /console/webhooks/{id}                  one endpoint: settings, buttons, delivery log
    POST /console/webhooks/{id}/{action}         edit | rotate | enable | disable | test
    GET  /console/deliveries/{id}                one delivery: every attempt's request and response
    POST /console/deliveries/{id}/resend         resend a webhook delivery / retry an on-completion action
    GET  /console/failing                        the firm's deliveries that need a person

Webhooks are the firm's: owners and admins only (others get 403). An `on completion` action
belongs to an applicant, so it is shown (and retried) to whoever sees that applicant in the console
(`manage.scope.Scope`; an agent who sees only their own gets 404 on a colleague's). Another firm's
endpoint or delivery is "not found" (404). Every form carries the console's CSRF token; what was
done is kept as a `ConsoleAction` (on the applicant for an action; without one, naming the
endpoint, for the firm's webhooks) and logged with ids only.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlmodel import Session as DB
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from integrations import webhooks
from integrations.completion import ActionState, action_states
from manage.scope import Scope
from store.models import ConsoleAction, Delivery, Staff, WebhookEndpoint
from web.i18n import _, translator

if TYPE_CHECKING:
    from web.console import Console, Login

log = logging.getLogger("accord.web.console")

ADMINS = ("owner", "admin")
ENDPOINT_ACTIONS = ("edit", "rotate", "enable", "disable", "test")
ADMINS_ONLY = _("Only owners and admins manage the firm's webhooks.")
VIEW_ONLY = _("Your account can look but not change anything.")
NO_SUCH = _("There is no such webhook or delivery in your console.")
BAD_URL = _("This address cannot receive webhooks. Use an http:// or https:// address of a public server, "
            "or allow private addresses below.")
BAD_EVENTS = _("Each filter must match an event type, like envelope.completed or envelope.*.")
ADDED = _("The endpoint was added.")
ROTATED = _("A new signing secret was made.")
ALREADY_DONE = _("This action is done: it is not run again (that could, for example, provision a second account).")
DESCRIPTION_LONG = _("The description is too long (at most 200 characters).")
DELIVERY_LABELS = {"pending": _("Waiting"), "retrying": _("Retrying"), "delivered": _("Delivered"),
                   "done": _("Done"), "failed": _("Failed"), "unconfigured": _("Not configured")}
HEALTH_LABELS = {"ok": _("Healthy"), "failing": _("Failing"), "disabled": _("Disabled")}
ACTION_KIND_LABELS = {"update record": _("Update the record"), "webhook": _("Hook"),
                      "autosend": _("Send the envelope")}


def delivery_state(d: Delivery) -> str:
    if d.status == "pending":
        return "retrying" if d.attempts else "pending"
    return d.status


class HookPages:
    def __init__(self, console: Console) -> None:
        self.console = console

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/console/webhooks", self.index, methods=["GET"]),
            Route("/console/webhooks", self.add, methods=["POST"]),
            Route("/console/webhooks/private", self.private, methods=["POST"]),
            Route("/console/webhooks/{endpoint_id:int}", self.endpoint_page, methods=["GET"]),
            Route("/console/webhooks/{endpoint_id:int}/{action:str}", self.endpoint_action, methods=["POST"]),
            Route("/console/deliveries/{delivery_id:int}", self.delivery_page, methods=["GET"]),
            Route("/console/deliveries/{delivery_id:int}/resend", self.resend, methods=["POST"]),
            Route("/console/failing", self.failing_page, methods=["GET"]),
        ]

    # -- shared ------------------------------------------------------------------------------------

    def _forbidden(self, request: Request, lang: str, login: Login) -> Response:
        return self.console._page(request, "console_message.html", lang, login, status=403,
                                  message=translator(lang)(ADMINS_ONLY))

    def _missing(self, request: Request, lang: str, login: Login) -> Response:
        return self.console._page(request, "console_message.html", lang, login, status=404,
                                  message=translator(lang)(NO_SUCH))

    async def _admin(self, request: Request, post: bool) -> tuple[str, Login, Any] | Response:
        """The logged-in owner or admin (and the form, CSRF checked, for a post), else the answer."""
        c = self.console
        if post:
            got = await c._acting(request)
            if isinstance(got, Response):
                return got
            lang, login, form = got
        else:
            lang = c._lang(request)
            found = await c._login(request)
            if found is None:
                return c._to_login(request)
            login, form = found, None
        if login.staff.role not in ADMINS:
            return self._forbidden(request, lang, login)
        return lang, login, form

    def _extra(self, lang: str) -> dict[str, Any]:
        _t = translator(lang)
        return {"health_label": lambda s: _t(HEALTH_LABELS.get(s) or s), "delivery_state": delivery_state,
                "health": webhooks.health}

    def _list_context(self, firm_id: int) -> dict[str, Any]:
        with DB(self.console.db) as db:
            rows = webhooks.endpoints(db, firm_id)
            for row in rows:
                db.expunge(row)
            return {"endpoints": rows, "allow_private": webhooks.allows_private(db, firm_id),
                    "done_by_staff": webhook_actions(db, firm_id)}

    async def _index_page(self, request: Request, lang: str, login: Login, status: int = 200,
                          **extra: Any) -> Response:
        context = await run_in_threadpool(self._list_context, login.staff.firm_id)
        extra.setdefault("values", {"url": "", "events": "*", "description": ""})
        extra.setdefault("errors", {})
        return self.console._page(request, "console_webhooks.html", lang, login, status=status, **context,
                                  **self._extra(lang), **extra)

    # -- the list, adding, the private-target setting -------------------------------------------------

    async def index(self, request: Request) -> Response:
        got = await self._admin(request, post=False)
        if isinstance(got, Response):
            return got
        lang, login, _form = got
        return await self._index_page(request, lang, login)

    async def add(self, request: Request) -> Response:
        got = await self._admin(request, post=True)
        if isinstance(got, Response):
            return got
        lang, login, form = got
        _t = translator(lang)
        values = {k: str(form.get(k) or "").strip() for k in ("url", "events", "description")}
        events = _events(values["events"])
        errors: dict[str, str] = {}
        if len(values["description"]) > 200:
            errors["description"] = _t(DESCRIPTION_LONG)
        try:
            webhooks.check_events(events)
        except webhooks.WebhookError as exc:
            errors["events"], errors["events_detail"] = _t(BAD_EVENTS), str(exc)
        firm_id = login.staff.firm_id

        def work() -> tuple[int, str] | tuple[str, str]:
            with DB(self.console.db) as db:
                try:
                    ep, secret = webhooks.add(db, firm_id, values["url"], events, values["description"])
                except webhooks.WebhookError as exc:
                    field = "events" if str(exc).startswith("the filter") else "url"
                    return field, str(exc)
                assert ep.id is not None
                return ep.id, secret

        if not errors:
            result = await run_in_threadpool(work)
            if isinstance(result[0], int):
                endpoint_id, secret = result
                _record(self.console.db, login, "webhook_added", {"endpoint": endpoint_id})
                return await self._index_page(request, lang, login, new_secret=secret, secret_for=endpoint_id,
                                              notice=_t(ADDED))
            field, detail = result
            message = BAD_EVENTS if field == "events" else BAD_URL
            errors[str(field)] = _t(message)
            errors[f"{field}_detail"] = detail
        return await self._index_page(request, lang, login, status=422, values=values, errors=errors)

    async def private(self, request: Request) -> Response:
        got = await self._admin(request, post=True)
        if isinstance(got, Response):
            return got
        _lang, login, form = got
        allow = form.get("allow") == "yes"
        firm_id = login.staff.firm_id

        def work() -> None:
            with DB(self.console.db) as db:
                webhooks.set_allow_private(db, firm_id, allow)

        await run_in_threadpool(work)
        _record(self.console.db, login, "private_allowed" if allow else "private_refused", {})
        return RedirectResponse("/console/webhooks?done=private", status_code=303)

    # -- one endpoint ------------------------------------------------------------------------------

    def _endpoint_context(self, firm_id: int, endpoint_id: int) -> dict[str, Any] | None:
        with DB(self.console.db) as db:
            try:
                ep = webhooks.endpoint(db, firm_id, endpoint_id)
                log_rows = webhooks.deliveries(db, firm_id, endpoint_id)
            except webhooks.WebhookError:
                return None
            db.expunge(ep)
            for d, event, attempts in log_rows:
                db.expunge(d)
                db.expunge(event)
                for a in attempts:
                    db.expunge(a)
            return {"endpoint": ep, "log_rows": log_rows, "allow_private": webhooks.allows_private(db, firm_id),
                    "done_by_staff": webhook_actions(db, firm_id, endpoint_id)}

    async def _endpoint_page(self, request: Request, lang: str, login: Login, status: int = 200,
                             **extra: Any) -> Response:
        context = await run_in_threadpool(self._endpoint_context, login.staff.firm_id,
                                          int(request.path_params["endpoint_id"]))
        if context is None:
            return self._missing(request, lang, login)
        ep = context["endpoint"]
        extra.setdefault("values", {"events": ", ".join(ep.events), "description": ep.description})
        extra.setdefault("errors", {})
        return self.console._page(request, "console_webhook.html", lang, login, status=status, **context,
                                  **self._extra(lang), **extra)

    async def endpoint_page(self, request: Request) -> Response:
        got = await self._admin(request, post=False)
        if isinstance(got, Response):
            return got
        lang, login, _form = got
        return await self._endpoint_page(request, lang, login)

    async def endpoint_action(self, request: Request) -> Response:
        got = await self._admin(request, post=True)
        if isinstance(got, Response):
            return got
        lang, login, form = got
        _t = translator(lang)
        action = request.path_params["action"]
        endpoint_id = int(request.path_params["endpoint_id"])
        firm_id = login.staff.firm_id
        if action not in ENDPOINT_ACTIONS:
            return self._missing(request, lang, login)
        values = {"events": str(form.get("events") or "").strip(),
                  "description": str(form.get("description") or "").strip()}

        def work() -> dict[str, Any] | None:
            with DB(self.console.db) as db:
                try:
                    webhooks.endpoint(db, firm_id, endpoint_id)
                except webhooks.WebhookError:
                    return None
                if action == "edit":
                    if len(values["description"]) > 200:
                        return {"errors": {"description": _t(DESCRIPTION_LONG)}}
                    try:
                        webhooks.update(db, firm_id, endpoint_id, _events(values["events"]), values["description"])
                    except webhooks.WebhookError as exc:
                        return {"errors": {"events": _t(BAD_EVENTS), "events_detail": str(exc)}}
                    return {}
                if action == "rotate":
                    return {"new_secret": webhooks.rotate(db, firm_id, endpoint_id)}
                if action == "test":
                    outcome, delivery = webhooks.send_test_logged(db, firm_id, endpoint_id)
                    return {"test": outcome, "test_delivery": delivery.id}
                webhooks.set_active(db, firm_id, endpoint_id, action == "enable")
                return {}

        result = await run_in_threadpool(work)
        if result is None:
            return self._missing(request, lang, login)
        if "errors" in result:
            return await self._endpoint_page(request, lang, login, status=422, values=values,
                                             errors=result["errors"])
        _record(self.console.db, login, f"webhook_{action}", {"endpoint": endpoint_id})
        if action == "rotate":
            return await self._endpoint_page(request, lang, login, new_secret=result["new_secret"],
                                             notice=_t(ROTATED))
        if action == "test":
            return await self._endpoint_page(request, lang, login, **result)
        return RedirectResponse(f"/console/webhooks/{endpoint_id}?done={action}", status_code=303)

    # -- deliveries -----------------------------------------------------------------------------------

    def _delivery_access(self, db: DB, login: Login, delivery_id: int, write: bool) -> tuple[Any, ...] | str:
        """(delivery, event, attempts) when this staff member may see (and, with `write`, act on) it;
        else "missing" (404) or "forbidden" (403)."""
        scope = Scope.of(login.staff)
        try:
            d, event, attempts = webhooks.delivery(db, scope.firm_id, delivery_id)
        except webhooks.WebhookError:
            return "missing"
        if d.kind == "webhook":
            if login.staff.role not in ADMINS:
                return "forbidden"
        else:  # an applicant's on-completion action: whoever sees the applicant (a viewer only looks)
            if scope.session(db, d.agreement_id) is None:
                return "missing"
            if write and not scope.can_write:
                return "view-only"
        return d, event, attempts

    async def delivery_page(self, request: Request) -> Response:
        c = self.console
        lang = c._lang(request)
        login = await c._login(request)
        if login is None:
            return c._to_login(request)
        delivery_id = int(request.path_params["delivery_id"])

        def work() -> dict[str, Any] | str:
            with DB(c.db) as db:
                found = self._delivery_access(db, login, delivery_id, write=False)
                if isinstance(found, str):
                    return found
                d, event, attempts = found
                ep = db.get(WebhookEndpoint, d.endpoint_id) if d.endpoint_id is not None else None
                action = None
                if d.kind != "webhook":
                    action = next((a for a in action_states(db, d.firm_id, d.agreement_id)
                                   if a.delivery.id == d.id), None)
                return {"delivery": d, "event": event, "attempts": attempts, "endpoint": ep, "action": action}

        data = await run_in_threadpool(work)
        if data == "missing":
            return self._missing(request, lang, login)
        if data == "forbidden":
            return self._forbidden(request, lang, login)
        assert isinstance(data, dict)
        return c._page(request, "console_delivery.html", lang, login, **data, **self._extra(lang))

    async def resend(self, request: Request) -> Response:
        c = self.console
        got = await c._acting(request)
        if isinstance(got, Response):
            return got
        lang, login, form = got
        delivery_id = int(request.path_params["delivery_id"])

        def work() -> Delivery | str:
            with DB(c.db) as db:
                found = self._delivery_access(db, login, delivery_id, write=True)
                if isinstance(found, str):
                    return found
                if found[0].kind != "webhook" and found[0].status == "delivered":
                    return "done"  # a webhook may be resent (receivers de-duplicate); an action is not redone
                d = webhooks.resend(db, login.staff.firm_id, delivery_id)
                if d.kind != "webhook":
                    db.add(ConsoleAction(firm_id=d.firm_id, staff_id=login.staff.id or 0, session_id=d.agreement_id,
                                         action="completion_retried", detail={"delivery": d.id}))
                    db.commit()
                    db.refresh(d)
                db.expunge(d)
                return d

        result = await run_in_threadpool(work)
        if result == "missing":
            return self._missing(request, lang, login)
        if result == "forbidden":
            return self._forbidden(request, lang, login)
        if result == "done":
            return c._page(request, "console_message.html", lang, login, status=409,
                           message=translator(lang)(ALREADY_DONE))
        if result == "view-only":
            return c._page(request, "console_message.html", lang, login, status=403,
                           message=translator(lang)(VIEW_ONLY))
        assert isinstance(result, Delivery)
        if result.kind == "webhook":
            _record(c.db, login, "webhook_resend", {"endpoint": result.endpoint_id, "delivery": result.id})
        if form.get("back") == "failing" and login.staff.role in ADMINS:
            return RedirectResponse("/console/failing?done=redeliver", status_code=303)
        if result.kind == "webhook":
            return RedirectResponse(f"/console/webhooks/{result.endpoint_id}?done=redeliver", status_code=303)
        return RedirectResponse(f"/console/s/{result.agreement_id}?done=retry", status_code=303)

    # -- the firm's failing deliveries ------------------------------------------------------------------

    async def failing_page(self, request: Request) -> Response:
        got = await self._admin(request, post=False)
        if isinstance(got, Response):
            return got
        lang, login, _form = got
        firm_id = login.staff.firm_id

        def work() -> dict[str, Any]:
            with DB(self.console.db) as db:
                rows = webhooks.failing(db, firm_id)
                endpoints = {e.id: e for e in webhooks.endpoints(db, firm_id)}
                actions: dict[int | None, ActionState] = {}
                for agreement in {d.agreement_id for d in rows if d.kind != "webhook"}:
                    for a in action_states(db, firm_id, agreement):
                        actions[a.delivery.id] = a
                for e in endpoints.values():
                    db.expunge(e)
                for d in rows:
                    db.expunge(d)
                return {"rows": rows, "endpoints": endpoints, "actions": actions}

        data = await run_in_threadpool(work)
        return self.console._page(request, "console_failing.html", lang, login, **data, **self._extra(lang))


def _events(raw: str) -> list[str]:
    return [e.strip() for e in raw.replace("\n", ",").split(",") if e.strip()] or ["*"]


def _record(db: Engine, login: Login, action: str, detail: dict[str, Any]) -> None:
    """Who did what to the firm's webhooks: a `ConsoleAction` without an applicant (ids only: no
    URL, no secret), shown on the webhook pages; and a log line."""
    with DB(db) as s:
        s.add(ConsoleAction(firm_id=login.staff.firm_id, staff_id=login.staff.id or 0, session_id=None,
                            action=action, detail=detail))
        s.commit()
    log.info("console webhook action", extra={"staff_id": login.staff.id, "action": action})


def webhook_actions(db: DB, firm_id: int, endpoint_id: int | None = None, limit: int = 20) -> list[tuple[
        ConsoleAction, str]]:
    """What staff did to the firm's webhooks (to one endpoint, with `endpoint_id`), newest first."""
    rows = db.exec(select(ConsoleAction, Staff.name).join(Staff, col(Staff.id) == ConsoleAction.staff_id)
                   .where(col(ConsoleAction.firm_id) == firm_id, col(ConsoleAction.session_id).is_(None))
                   .order_by(col(ConsoleAction.id).desc()).limit(limit * 5)).all()
    out = [(a, n) for a, n in rows if endpoint_id is None or a.detail.get("endpoint") == endpoint_id]
    return out[:limit]


def outcomes_for(db: DB, scope: Scope, session_id: str) -> list[ActionState]:
    """The applicant's `on completion` actions, for the detail page (the scope's own only)."""
    if scope.session(db, session_id) is None:
        return []
    return action_states(db, scope.firm_id, session_id)
