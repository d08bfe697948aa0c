"""The JSON API: the wizard's flow for other front ends and for tests (described by `/openapi.json`).

    POST /api/v1/sessions                   {"interview", "lang"} -> 201 {"id", "token", "screen"}
    GET  /api/v1/sessions/{id}              the current screen
    POST /api/v1/sessions/{id}/answers      {"version", "answers", "button"?, "edit"?} -> 200 next screen,
                                            422 {"errors": {key: [message]}}, 409 stale
    POST /api/v1/sessions/{id}/back         {"version"} -> 200 the previous screen

Every call but the first needs `Authorization: Bearer <token>`. The token is HMAC-SHA256 of the
app secret and the session id (another purpose string than the wizard's CSRF token, so neither
stands in for the other), compared in constant time *before* the database is asked: a wrong or
missing token is a 401 whether or not the session exists. The wizard's cookie authorizes
nothing here, so cross-site requests riding on it are useless: the API is not CSRF-exposed.

The engine coerces and validates JSON values (numbers, booleans, lists, strings) exactly as it
does form text, and answers in the session's language. Each acknowledged step is committed
(`web.flow`, `store.sessions.save_step`) before the response is sent.
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import functools
import hashlib
import hmac
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from engine import Done, Field, Screen
from store import jsoncodec
from web import flow, markup
from web.i18n import LANGUAGES, _, translator
from web.openapi import document
from web.wizard import set_by_button

log = logging.getLogger("accord.web.api")

PREFIX = "/api/v1"
YESNO_KINDS = frozenset({"yesno", "noyes", "yesnomaybe", "noyesmaybe"})

# Messages of the error responses (marked here, translated in the session's language if known).
UNAUTHORIZED = _("A valid bearer token for this session is needed.")
STALE = _("The session moved on since this screen was fetched. Here is where it is now.")
ENDED = _("This screen has nothing to answer.")
NO_BACK = _("There is no earlier question to go back to.")
NO_FIELD = _("This screen has no such field.")
BAD_BUTTON = _("This screen has no such button.")
BAD_EDIT = _("This review item cannot be edited.")
ACTION = _("This button does not answer the question: the front end carries out its action.")
NOT_FOUND = _("There is no such session.")
NO_INTERVIEW = _("There is no such interview.")
BAD_BODY = _("The request body is not what this endpoint takes.")


# The step's unit of work runs on these threads: the event loop's own executor hop costs half
# of anyio's (`run_in_threadpool`: 57 against 32 us of CPU per call, measured on uvloop), on every
# step. As many threads as anyio's default, so concurrent steps still share SQLite commits.
_WORKERS = ThreadPoolExecutor(max_workers=40, thread_name_prefix="accord-step")
T = TypeVar("T")


async def in_worker(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` on a worker thread, with this request's context (its request id in logs)."""
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(_WORKERS, functools.partial(context.run, fn, *args))


class FastJSONResponse(JSONResponse):
    """JSON through orjson (`store.jsoncodec`): the screen of every step is encoded here."""

    def render(self, content: Any) -> bytes:
        return jsoncodec.dumps_bytes(content)


class Api:
    def __init__(self, db: Engine, secret_key: str, firm_slug: str = "demo") -> None:
        self.db = db
        self.secret = secret_key.encode("utf-8")
        self.firm_slug = firm_slug

    def routes(self) -> list[BaseRoute]:
        return [
            Route(f"{PREFIX}/sessions", self.create, methods=["POST"]),
            Route(f"{PREFIX}/sessions/{{session_id}}", self.show, methods=["GET"]),
            Route(f"{PREFIX}/sessions/{{session_id}}/answers", self.answer, methods=["POST"]),
            Route(f"{PREFIX}/sessions/{{session_id}}/back", self.back, methods=["POST"]),
            Route("/openapi.json", self.openapi, methods=["GET"]),
        ]

    def token(self, session_id: str) -> str:
        return hmac.new(self.secret, f"api:{session_id}".encode(), hashlib.sha256).hexdigest()

    # -- handlers ---------------------------------------------------------------------------

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(document())

    async def create(self, request: Request) -> Response:
        body = await _json_object(request)
        if body is None:
            return _error(400, "bad_request", BAD_BODY)
        name, lang = body.get("interview"), body.get("lang", "en")
        if not isinstance(name, str) or not name or not isinstance(lang, str) or lang not in LANGUAGES:
            return _error(400, "bad_request", BAD_BODY)
        row = await run_in_threadpool(flow.start, self.db, self.firm_slug, name, lang)
        if row is None:
            return _error(404, "not_found", NO_INTERVIEW, lang)
        log.info("session started", extra={"session": row.id})
        step = await run_in_threadpool(flow.current, self.db, row.id)
        return JSONResponse({"id": row.id, "token": self.token(row.id), "screen": screen_json(row.id, step)},
                            status_code=201, headers={"Location": f"{PREFIX}/sessions/{row.id}"})

    async def show(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]
        if not self._authorized(request, session_id):
            return _unauthorized()
        step = await in_worker(flow.current, self.db, session_id)
        return self._respond(session_id, step)

    async def answer(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]
        if not self._authorized(request, session_id):
            return _unauthorized()
        body = await _json_object(request)
        version, answers = (body or {}).get("version"), (body or {}).get("answers", {})
        button, edit = (body or {}).get("button"), (body or {}).get("edit")
        if (body is None or not _is_int(version) or not isinstance(answers, dict)
                or not (button is None or _is_int(button)) or not (edit is None or _is_int(edit))):
            return _error(400, "bad_request", BAD_BODY)
        step = await in_worker(self._answer, session_id, int(version or 0), answers, button, edit)
        return self._respond(session_id, step)

    async def back(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]
        if not self._authorized(request, session_id):
            return _unauthorized()
        body = await _json_object(request)
        version = (body or {}).get("version")
        if not _is_int(version):
            return _error(400, "bad_request", BAD_BODY)
        step = await in_worker(flow.back, self.db, session_id, int(version or 0))
        return self._respond(session_id, step)

    # -- helpers ----------------------------------------------------------------------------

    def _answer(self, session_id: str, version: int, answers: dict[str, Any], button: int | None,
                edit: int | None) -> flow.Step:
        return flow.answer(self.db, session_id, version, answers, button, edit, check=_check)

    def _authorized(self, request: Request, session_id: str) -> bool:
        scheme, _sep, credential = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(credential.strip().encode(),
                                                                  self.token(session_id).encode())

    def _respond(self, session_id: str, step: flow.Step) -> Response:
        _t = translator(step.lang)
        if step.kind == "ok":
            return FastJSONResponse(screen_json(session_id, step), headers={"Cache-Control": "no-store"})
        if step.kind == "not_found":
            return _error(404, "not_found", NOT_FOUND)
        if step.kind == "invalid":
            return JSONResponse({"errors": step.errors}, status_code=422)
        status, message = {
            "stale": (409, STALE), "ended": (409, ENDED), "no_back": (409, NO_BACK), "action": (400, ACTION),
            "bad_button": (400, BAD_BUTTON), "bad_edit": (400, BAD_EDIT),
        }[step.kind]
        return JSONResponse({"error": step.kind, "message": _t(message), "screen": screen_json(session_id, step)},
                            status_code=status)


def _check(screen: Screen, answers: dict[str, Any], button: int | None) -> tuple[dict[str, list[str]], int | None]:
    """Keys that are no field of the screen are refused (422) rather than silently dropped; on a
    yes/no screen the answer is the button pressed, so `{"var": false}` presses "No"."""
    unknown = [k for k in answers if screen.field_by_key(k) is None]
    if unknown:
        message = translator(screen.language)(NO_FIELD)
        return {k: [message] for k in unknown}, button
    if button is not None or screen.kind not in YESNO_KINDS:
        return {}, button
    for f in screen.fields:
        if f.key in answers and set_by_button(screen, f):
            wanted = answers[f.key]
            for i, b in enumerate(screen.buttons):
                if b.value is wanted or str(b.value).lower() == str(wanted).strip().lower():
                    return {}, i
            if str(wanted).lower() == "maybe":
                for i, b in enumerate(screen.buttons):
                    if b.value is None:
                        return {}, i
    return {}, button


# -- screens as JSON ----------------------------------------------------------------------------


def screen_json(session_id: str, step: flow.Step) -> dict[str, Any]:
    """The screen a step leaves the session at, as the API's `Screen` schema describes it."""
    base: dict[str, Any] = {"session": session_id, "version": step.version, "lang": step.lang}
    screen = step.screen
    if not isinstance(screen, Screen):
        message = screen.message if isinstance(screen, Done) else ""
        return {**base, "block": None, "kind": "done", "end": True, **_text("question", ""),
                **_text("subquestion", message), "help": None, "help_label": None, **_text("under", ""),
                "fields": [], "buttons": [], "review": [], "back": False, "progress": None, "section": None,
                "sections": []}
    return {
        **base,
        "block": screen.block_id,
        "kind": screen.kind,
        "end": screen.is_end,
        "question": screen.question,
        "question_html": _html(screen.question, inline=True),
        **_text("subquestion", screen.subquestion),
        "help": screen.help,
        "help_label": screen.help_label,
        **_text("under", screen.under),
        "fields": [_field(screen, f) for f in screen.fields if f.var is not None or f.note],
        "buttons": [] if screen.is_end else [
            {"index": i, "label": b.label, "action": b.action, "value": jsonable(b.value)}
            for i, b in enumerate(screen.buttons)],
        "review": [{"index": i, "label": r.label, "text": r.text, "html": _html(r.text),
                    "editable": bool(r.vars)} for i, r in enumerate(screen.review)],
        "back": screen.back_button,
        "progress": screen.progress,
        "section": screen.section,
        "sections": list(screen.sections),
    }


@lru_cache(maxsize=2048)
def _html(text: str, inline: bool = False) -> str:
    """Markdown to HTML, remembered: most screen texts recur from session to session, and
    rendering was a tenth of a step's time (bench/web.py). Texts only: nothing is logged."""
    return str(markup.render(text, inline=inline))


def _text(name: str, text: str) -> dict[str, str]:
    return {name: text, f"{name}_html": _html(text) if text else ""}


def _field(screen: Screen, f: Field) -> dict[str, Any]:
    if f.var is None:
        return {"key": f.key, "datatype": "note", "label": "", "required": False, "note": f.note,
                "note_html": _html(f.note), "by_button": False, "choices": [], "hint": None,
                "help": None, "value": None}
    out: dict[str, Any] = {
        "key": f.key,
        "datatype": f.datatype,
        "label": f.label,
        "required": f.required,
        "by_button": set_by_button(screen, f),  # answered by pressing one of the buttons
        "choices": [{"label": c.label, "value": jsonable(c.value), "exclusive": c.exclusive} for c in f.choices],
        "hint": f.hint,
        "help": f.help,
        "value": jsonable(f.default),
    }
    for name in ("min", "max", "step"):
        value = getattr(f, name)
        if value is not None:
            out[name] = jsonable(value)
    for name in ("minlength", "maxlength", "accept"):
        if getattr(f, name) is not None:
            out[name] = getattr(f, name)
    if f.show_if is not None:
        out["show_if"] = {"key": f.show_if[0], "value": jsonable(f.show_if[1])}
    if f.hide_if is not None:
        out["hide_if"] = {"key": f.hide_if[0], "value": jsonable(f.hide_if[1])}
    return out


def jsonable(value: Any) -> Any:
    """A stored answer (or choice value) as plain JSON: dates as ISO text, checklists as the
    list of ticked values, files as their name and type, any other object as its text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        if isinstance(value, dt.datetime) and (value.hour, value.minute, value.second) == (0, 0, 0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    elements = getattr(value, "elements", None)
    if isinstance(elements, dict):
        return [jsonable(k) for k, v in elements.items() if v]
    if isinstance(elements, list):
        return [jsonable(v) for v in elements]
    attrs = getattr(value, "__dict__", None)
    if isinstance(attrs, dict) and "filename" in attrs:
        return {"filename": str(attrs["filename"]), "mimetype": str(attrs.get("mimetype", ""))}
    return str(value)


# -- small helpers --------------------------------------------------------------------------------


async def _json_object(request: Request) -> dict[str, Any] | None:
    try:
        body = jsoncodec.loads(await request.body() or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _error(status: int, code: str, message: str, lang: str = "en") -> JSONResponse:
    return JSONResponse({"error": code, "message": translator(lang)(message)}, status_code=status)


def _unauthorized() -> JSONResponse:
    response = _error(401, "unauthorized", UNAUTHORIZED)
    response.headers["WWW-Authenticate"] = 'Bearer realm="accord"'
    return response
