"""The wizard: one screen at a time, plain HTML forms, works with JavaScript off.

    GET  /i/{interview}?lang=en|vi   start a session on the demo firm's latest version, remember
                                     its id in the signed cookie, 303 to /s/{id}
    GET  /s/{id}                     the current screen
    POST /s/{id}                     answers (or Back / Edit): 303 to GET when saved, 422 with the
                                     messages when invalid, 409 with a notice when the page was stale;
                                     Save for later / Exit / Restart keep what was typed as the draft
                                     and 303 to the pages of `web/resume.py`

With `HX-Request: true` (htmx) every page answers with its `<title>` and its `main` block only
(`render`); without it, the whole page. Uploads and signatures are stored by `web/uploads.py`.

The signed cookie (Starlette's SessionMiddleware) holds only the list of session ids this
browser opened; answers live in the database and every step is committed (`save_step`) before
the redirect. A session whose id is not in the cookie is a 404, so a guessed or leaked URL is
not enough. Every form carries a per-session CSRF token (HMAC of the secret and the session id)
checked with `hmac.compare_digest`; a missing or wrong token is a 403.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import Engine
from sqlmodel import Session as DB
from sqlmodel import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

import engine
from engine import Button, Done, Field, Screen, State, ValidationErrors
from store.models import Firm, InterviewVersion
from store.models import Session as SessionRow
from store.sessions import (
    SessionNotFound,
    StaleSession,
    compile_version,
    latest_version,
    load_state,
    save_draft,
    save_step,
    start_session,
)
from web import fieldview, flow, forms, markup, terms, uploads
from web.i18n import LANGUAGES, _, translator
from web.options import WebOptions

log = logging.getLogger("accord.web.wizard")

TEMPLATES = Path(__file__).resolve().parent / "templates"
COOKIE_KEY = "sessions"
MAX_SESSIONS_PER_COOKIE = 20
BUTTON_KINDS = frozenset({"yesno", "noyes", "yesnomaybe", "noyesmaybe", "buttons"})
FILE_TYPES = frozenset({"file", "files", "camera", "user", "environment", "microphone"})
# Buttons on every question screen that leave it without answering: what was typed becomes the draft.
LEAVING = {"_save": "save", "_exit": "exit", "_restart": "restart"}

# Notices shown above the screen (marked here, translated per request).
STALE = _("This page was out of date: the session moved on (in another tab?). Here is where it is now.")
NO_BACK = _("There is no earlier question to go back to.")

templates = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters["md"] = markup.render
templates.filters["md_inline"] = lambda text: markup.render(text, inline=True)
templates.filters["link_terms"] = terms.link_terms
templates.globals["term_definitions"] = terms.definitions
templates.filters["plain_terms"] = terms.plain


@dataclass
class Outcome:
    """What a unit of work decided: redirect, or render (screen or done) with a status."""

    status: int = 200
    redirect: str | None = None
    screen: Screen | None = None
    done: Done | None = None
    lang: str = "en"
    values: dict[str, Any] = field(default_factory=dict)  # what to show in the inputs
    errors: dict[str, list[str]] = field(default_factory=dict)
    notice: str | None = None
    version: int = 0
    agreement: bool = False  # the interview makes an agreement (the end screen links to its preview)


class Wizard:
    def __init__(self, db: Engine, secret_key: str, firm_slug: str = "demo", options: WebOptions | None = None) -> None:
        self.db = db
        self.secret = secret_key.encode("utf-8")
        self.firm_slug = firm_slug
        self.options = options or WebOptions()

    # -- routes ---------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/i/{interview}", self.start, methods=["GET"]),
            Route("/s/{session_id}", self.show, methods=["GET"]),
            Route("/s/{session_id}", self.post, methods=["POST"]),
        ]

    async def start(self, request: Request) -> Response:
        name = request.path_params["interview"]
        lang = request.query_params.get("lang", "en")
        if lang not in LANGUAGES:
            lang = "en"
        session_id = await run_in_threadpool(self._start, name, lang)
        if session_id is None:
            return self._plain(request, 404, lang)
        remember(request, session_id)
        return RedirectResponse(f"/s/{session_id}", status_code=303)

    async def show(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]
        if not self._owned(request, session_id):
            return self._plain(request, 404)
        outcome = await run_in_threadpool(self._show, session_id)
        return self._respond(request, session_id, outcome)

    async def post(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]
        if not self._owned(request, session_id):
            return self._plain(request, 404)
        try:
            form, oversized = await uploads.read_form(request, self.options.max_upload_bytes)
        except uploads.BodyTooLarge:
            outcome = await run_in_threadpool(self._too_large, session_id)
            return self._respond(request, session_id, outcome)
        try:
            if not self.csrf_ok(session_id, form):
                return self._plain(request, 403)
            outcome = await run_in_threadpool(self._post, session_id, form, oversized)
        finally:
            await form.close()
        return self._respond(request, session_id, outcome)

    # -- units of work (run in a thread: the engine and the database are synchronous) -----

    def _start(self, name: str, lang: str) -> str | None:
        with DB(self.db) as db:
            firm = db.exec(select(Firm).where(Firm.slug == self.firm_slug)).first()
            version = latest_version(db, firm, name) if firm is not None else None
            if firm is None or version is None:
                return None
            session = start_session(db, firm, version, lang)
            log.info("session started", extra={"session": session.id})
            return session.id

    def _load(self, db: DB, session_id: str) -> tuple[SessionRow, engine.Interview, State]:
        session, state = load_state(db, session_id)
        version = db.get(InterviewVersion, session.interview_version_id)
        if version is None:
            raise SessionNotFound("no such interview version")
        return session, compile_version(version), state

    def _show(self, session_id: str, notice: str | None = None, status: int = 200) -> Outcome:
        with DB(self.db) as db:
            try:
                session, iv, state = self._load(db, session_id)
            except SessionNotFound:
                return Outcome(status=404)
            # `_render_current` fills the inputs with the draft (typed before "save and continue
            # later", or by the chat) while the session is still on the screen it was typed on.
            return self._render_current(iv, state, session, notice=notice, status=status)

    def _too_large(self, session_id: str) -> Outcome:
        """The request body passed the hard cap: the current screen, the limit next to its file fields."""
        outcome = self._show(session_id, status=413)
        if outcome.screen is not None:
            message = translator(outcome.lang)(uploads.TOO_LARGE).format(mb=_mb(self.options.max_upload_mb))
            for f in outcome.screen.fields:
                if f.datatype in FILE_TYPES or f.datatype == "signature":
                    outcome.errors[f.key] = [message]
        return outcome

    def _render_current(self, iv: engine.Interview, state: State, session: SessionRow, *, notice: str | None = None,
                        status: int = 200) -> Outcome:
        step = engine.plan(iv, state)
        agreement = iv.accord.agreement is not None
        if isinstance(step, Done):
            return Outcome(status=status, done=step, lang=state.lang, notice=notice, version=session.version,
                           agreement=agreement)
        values = {**current_values(step), **draft_values(session, step)}  # what the chat had typed
        return Outcome(status=status, screen=step, lang=state.lang, values=values, notice=notice,
                       version=session.version, agreement=agreement)

    def _post(self, session_id: str, form: FormData, oversized: frozenset[str] = frozenset()) -> Outcome:
        _t = None
        with DB(self.db) as db:
            try:
                session, iv, state = self._load(db, session_id)
            except SessionNotFound:
                return Outcome(status=404)
            _t = translator(state.lang)
            if str(form.get("_version", "")) != str(session.version):
                return self._render_current(iv, state, session, notice=_t(STALE), status=409)
            step = engine.plan(iv, state)
            review_post = "_edit" in form or any(name in form for name in LEAVING)
            if isinstance(step, Done) or (step.is_end and not (step.review and review_post)):
                return Outcome(redirect=f"/s/{session_id}")  # an end screen only takes its review's edits (or leaving)
            if "_back" in form:
                if not engine.go_back(iv, state):
                    return self._render_current(iv, state, session, notice=_t(NO_BACK), status=409)
                return self._save(db, session, state, iv, session_id)
            edit = form.get("_edit")
            if isinstance(edit, str) and edit.isdigit() and int(edit) < len(step.review):
                item = step.review[int(edit)]
                if item.vars and engine.revisit(iv, state, item.vars[0]):
                    return self._save(db, session, state, iv, session_id)
                return Outcome(redirect=f"/s/{session_id}")
            for name, page in LEAVING.items():
                if name in form:
                    draft = {"block": step.block_id, "bindings": step.bindings, "values": _raw_values(step, form)}
                    try:
                        save_draft(db, session, draft)
                    except StaleSession:
                        fresh, iv, state = self._load(db, session_id)
                        return self._render_current(iv, state, fresh, notice=_t(STALE), status=409)
                    return Outcome(redirect=f"/s/{session_id}/{page}")
            button = _button_index(step, form.get("_button"))
            chosen: Button | None = step.buttons[button] if button is not None else None
            if chosen is not None and chosen.action != "continue":
                return self._special(db, session, chosen, session_id)
            answers = posted_answers(step, form)
            # WTForms (`web/forms.py`) coerces and checks each field with the engine's parsers and
            # words; the engine then applies the answers (visibility, validation code, storage).
            _typed, checked = forms.validate(step, form, lambda f: set_by_button(step, f)
                                             or f.datatype in uploads.STORED_TYPES)
            received = uploads.receive(db, self.options, session_id, step, form, oversized, _t)
            answers.update(received.answers)
            result: State | ValidationErrors = engine.apply(iv, state, step, answers, button)
            if isinstance(result, ValidationErrors) or received.errors or checked:
                errors: dict[str, list[str]] = {**checked, **received.errors}
                for e in result.errors if isinstance(result, ValidationErrors) else ():
                    if e.key not in errors:
                        errors.setdefault(e.key, []).append(e.message)
                values = {**current_values(step), **_raw_values(step, form), **received.answers}
                return Outcome(status=422, screen=step, lang=state.lang, values=values, errors=errors,
                               version=session.version)
            return self._save(db, session, result, iv, session_id)

    def _save(self, db: DB, session: SessionRow, state: State, iv: engine.Interview, session_id: str) -> Outcome:
        data, after, progress = flow.plan_next(iv, state)  # the console's columns, written with the step
        try:
            # committed before the redirect is sent
            save_step(db, session, state, progress, completed=flow.ended(after), data=data)
        except StaleSession:
            fresh, iv, state = self._load(db, session_id)
            return self._render_current(iv, state, fresh, notice=translator(state.lang)(STALE), status=409)
        return Outcome(redirect=f"/s/{session_id}")

    def _special(self, db: DB, session: SessionRow, chosen: Button, session_id: str) -> Outcome:
        """exit / leave / restart / a URL: buttons that do not answer anything."""
        if chosen.action == "restart":
            version = db.get(InterviewVersion, session.interview_version_id)
            firm = db.get(Firm, session.firm_id)
            if version is not None and firm is not None:
                new = start_session(db, firm, version, session.lang)
                return Outcome(redirect=f"/s/{new.id}?restarted={session_id}")
        if chosen.action.startswith(("https://", "http://")):
            return Outcome(redirect=chosen.action)
        return Outcome(redirect=f"/s/{session_id}/exit")  # exit / leave: the answers are kept

    # -- helpers ----------------------------------------------------------------------------

    def csrf_token(self, session_id: str) -> str:
        return hmac.new(self.secret, f"csrf:{session_id}".encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, session_id: str, form: FormData) -> bool:
        """The posted `_csrf` is this session's token (constant-time comparison)."""
        token = form.get("_csrf")
        return isinstance(token, str) and hmac.compare_digest(token, self.csrf_token(session_id))

    @staticmethod
    def _owned(request: Request, session_id: str) -> bool:
        ids = request.session.get(COOKIE_KEY, [])
        return isinstance(ids, list) and session_id in ids

    def _respond(self, request: Request, session_id: str, outcome: Outcome) -> Response:
        if outcome.status == 404:
            return self._plain(request, 404)
        if outcome.redirect is not None:
            target = outcome.redirect
            if "?restarted=" in target:  # a restart opened a new session: let this browser in
                remember(request, target.split("?", 1)[0].rsplit("/", 1)[1])
                target = target.split("?", 1)[0]
            return RedirectResponse(target, status_code=303)
        _t = translator(outcome.lang)
        screen = outcome.screen
        context = {
            "_": _t,
            "lang": outcome.lang,
            "screen": screen,
            "done": outcome.done,
            "fields": _field_views(screen, outcome) if screen is not None else [],
            "errors": outcome.errors,
            "error_list": [(key, m) for key, msgs in outcome.errors.items() for m in msgs],
            "notice": outcome.notice,
            "csrf": self.csrf_token(session_id),
            "version": outcome.version,
            "action": f"/s/{session_id}",
            "has_files": screen is not None and any(f.datatype in FILE_TYPES for f in screen.fields),
            "buttons": _buttons(screen, _t) if screen is not None else [],
            "agreement_link": f"/s/{session_id}/agreement"
            if outcome.agreement and (screen is None or screen.is_end) else None,
            "session_id": session_id,
            "max_upload_mb": _mb(self.options.max_upload_mb),
        }
        return render(request, "screen.html", context, outcome.status)

    def _plain(self, request: Request, status: int, lang: str = "en") -> Response:
        _t = translator(lang)
        titles = {403: _t("This form has expired or was not sent from this site. Reload the page and try again."),
                  404: _t("This page does not exist, or it belongs to another browser.")}
        return render(request, "message.html", {"_": _t, "lang": lang, "message": titles.get(status, "")}, status)


def remember(request: Request, session_id: str) -> None:
    """Add a session to the signed cookie's list (most recent last, at most MAX_SESSIONS_PER_COOKIE)."""
    ids = [i for i in request.session.get(COOKIE_KEY, []) if isinstance(i, str) and i != session_id]
    request.session[COOKIE_KEY] = [*ids, session_id][-MAX_SESSIONS_PER_COOKIE:]


def is_htmx(request: Request) -> bool:
    """An htmx swap (not a history restore, which needs the whole page)."""
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-history-restore-request") != "true"


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    """The whole page, or for htmx only its `<title>` and `main` block (Jinja's own `Template.blocks`:
    no extra dependency). The title goes along so htmx updates `document.title`."""
    template = templates.get_template(name)
    headers = {"Cache-Control": "no-store", "Vary": "HX-Request"}
    if not is_htmx(request):
        return HTMLResponse(template.render(context), status_code=status, headers=headers)
    ctx = template.new_context(context)
    title = "".join(template.blocks["title"](ctx)) if "title" in template.blocks else "Accord"
    html = f"<title>{title}</title>\n" + "".join(template.blocks["main"](ctx))
    current = request.headers.get("hx-current-url", "")
    if current.split("?", 1)[0].endswith(request.url.path):
        headers["HX-Replace-Url"] = request.url.path  # same page again (an error, a notice): no new history entry
    return HTMLResponse(html, status_code=status, headers=headers)


def draft_values(session: SessionRow, screen: Screen) -> dict[str, Any]:
    """The answers typed on this screen but not submitted yet (`Session.draft`, written by the
    chat), keyed by field key; empty when the draft was typed on another screen."""
    draft = session.draft
    if not isinstance(draft, dict) or draft.get("block") != screen.block_id:
        return {}
    if (draft.get("bindings") or {}) != (screen.bindings or {}):
        return {}
    values = draft.get("values")
    return dict(values) if isinstance(values, dict) else {}


# -- screens to template data ----------------------------------------------------------------


def set_by_button(screen: Screen, f: Field) -> bool:
    """Fields whose value the pressed button carries (nothing to type)."""
    if f.datatype == "continue":
        return True
    return screen.kind in BUTTON_KINDS and (f.var == screen.sought or f.datatype in {"yesno", "buttons"})


def current_values(screen: Screen) -> dict[str, Any]:
    """What the inputs show on GET: the answers already given (the engine's defaults)."""
    return {f.key: f.default for f in screen.fields if f.var is not None and f.default is not None}


def posted_answers(screen: Screen, form: FormData) -> dict[str, Any]:
    """The posted answers keyed by field key, as the engine's `apply` takes them."""
    answers: dict[str, Any] = {}
    for f in screen.fields:
        if f.var is None or set_by_button(screen, f) or f.datatype in uploads.STORED_TYPES:
            continue  # files and signatures: stored first by `uploads.receive`
        if f.datatype in ("checkboxes", "multiselect"):
            answers[f.key] = [v for v in form.getlist(f.key) if isinstance(v, str)]
        else:
            value = form.get(f.key)
            if isinstance(value, str):
                answers[f.key] = value
    return answers


def _raw_values(screen: Screen, form: FormData) -> dict[str, Any]:
    """The posted values as typed, to re-fill the form after a validation error (or as the draft)."""
    values: dict[str, Any] = {}
    for f in screen.fields:
        if f.var is None or f.datatype in uploads.STORED_TYPES or set_by_button(screen, f):
            continue
        if f.datatype in ("checkboxes", "multiselect"):
            values[f.key] = [v for v in form.getlist(f.key) if isinstance(v, str)]
        elif f.datatype in ("yesno", "noyes", "yesnowide", "noyeswide"):
            values[f.key] = f.key in form
        else:
            value = form.get(f.key, "")
            values[f.key] = value if isinstance(value, str) else ""
    return values


def _mb(value: float) -> str:
    return f"{value:g}"


def _button_index(screen: Screen, raw: Any) -> int | None:
    if isinstance(raw, str) and raw.isdigit() and int(raw) < len(screen.buttons):
        return int(raw)
    return None


def _buttons(screen: Screen, _t: Any) -> list[dict[str, Any]]:
    if screen.is_end:
        return []
    if screen.buttons:
        return [{"index": i, "label": b.label, "action": b.action} for i, b in enumerate(screen.buttons)]
    return [{"index": None, "label": screen.continue_label or _t("Continue"), "action": "continue"}]


def _field_views(screen: Screen, outcome: Outcome) -> list[dict[str, Any]]:
    views = []
    for n, f in enumerate(screen.fields):
        if f.var is None and not f.note:
            continue
        if f.var is not None and set_by_button(screen, f):
            continue
        value = outcome.values.get(f.key)
        conditional = bool(f.show_if or f.hide_if or f.js_show_if or f.js_hide_if or f.required_expr)
        views.append({
            "f": f,
            "id": f"field-{n}",
            "input": _input_kind(f),
            "value": "" if value is None or isinstance(value, list | bool) else _as_text(value),
            "checked": _checked(value),
            "errors": outcome.errors.get(f.key, []),
            "html_required": f.required and not conditional,
            "is_file": f.datatype in FILE_TYPES,
            **fieldview.extras(screen, f, outcome.lang),
            "kept": uploads.kept(value) if f.datatype in uploads.STORED_TYPES else [],
        })
    return views


def _input_kind(f: Field) -> str:
    dt = f.datatype
    if f.var is None:
        return "note"
    if dt in ("yesno", "noyes", "yesnowide", "noyeswide"):
        return "checkbox"
    if dt in ("yesnoradio", "noyesradio", "yesnomaybe", "noyesmaybe"):
        return "yesnoradio"
    if dt in ("checkboxes", "multiselect"):
        return "checkboxes"
    if dt in ("radio", "buttons") or (dt not in ("dropdown", "combobox", "datalist") and f.choices):
        return "radio"
    if dt == "dropdown":
        return "select"
    if dt in ("combobox", "datalist"):
        return "combobox"
    if dt in ("area", "mlarea"):
        return "textarea"
    if dt in FILE_TYPES:
        return "file"
    if dt == "signature":
        return "signature"
    return "input"


def _as_text(value: Any) -> str:
    if hasattr(value, "isoformat") and callable(value.isoformat):
        try:
            return str(value.isoformat())[:10] if hasattr(value, "year") else str(value.isoformat())
        except TypeError:
            pass
    return str(value)


def _checked(value: Any) -> set[str]:
    """The choice values (as strings) a stored or posted answer selects."""
    if value is None:
        return set()
    if isinstance(value, bool):
        return {str(value)}
    if isinstance(value, list | tuple | set):
        return {str(v) for v in value}
    elements = getattr(value, "elements", None)
    if isinstance(elements, dict):
        return {str(k) for k, v in elements.items() if v}
    return {str(value)}


def input_type(f: Field) -> str:
    return {"email": "email", "date": "date", "time": "time", "datetime": "datetime-local", "password": "password",
            "integer": "text", "number": "text", "currency": "text", "float": "text", "range": "range",
            "hidden": "hidden"}.get(f.datatype, "text")


def input_mode(f: Field) -> str | None:
    return {"integer": "numeric", "number": "decimal", "currency": "decimal", "float": "decimal"}.get(f.datatype)


templates.globals["input_type"] = input_type
templates.globals["input_mode"] = input_mode
