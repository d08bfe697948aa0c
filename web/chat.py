"""Chat mode: the same session and engine as the wizard, asked one message at a time.

    GET  /s/{id}/chat    the conversation so far (each answered screen's question and answer,
                         formatted for the session's language) and the current question
    POST /s/{id}/chat    one answer: typed text (`answer`), a quick reply (`_reply`), a button
                         (`_button`), `_skip`, `_back` or `_edit`; 303 back to GET when kept,
                         422 with the engine's message when not, 409 when the page was stale

Composed with `web.wizard.Wizard`: its cookie ownership check, CSRF token, loading, saving and
translations are used as they are. A screen with several fields is asked field by field; the
answers typed so far live in `Session.draft` (`store.sessions.save_draft`, committed), each one
checked by the engine on arrival (only its own messages are shown); when the last field is
answered the whole screen goes through the wizard's own POST path (`engine.apply`, `save_step`),
so the chat and the wizard validate and store exactly alike, and the wizard shows the draft when
the applicant switches mid-screen. Typed text is read by `engine.chatparse` first ("15/03/1990",
"next Friday", "25k", "có").

With htmx (`HX-Request`) a POST answers with the conversation part only (the log items and
the answer form, swapped out of band); without JavaScript it is a plain POST/303/GET.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal
from markupsafe import Markup, escape
from sqlmodel import Session as DB
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

import engine
from engine import Choice, Done, Field, Screen, State
from engine import coerce as coerce_
from engine.chatparse import match_choice, parse_answer, parse_yes_no
from engine.transcript import transcript
from store.models import Session as SessionRow
from store.sessions import SessionNotFound, StaleSession, save_draft
from web import markup
from web.i18n import _, translator
from web.wizard import (
    BUTTON_KINDS,
    FILE_TYPES,
    NO_BACK,
    STALE,
    Outcome,
    Wizard,
    _as_text,
    _checked,
    draft_values,
    is_htmx,
    remember,
    set_by_button,
    templates,
)

HTMX_PATH = "/static/vendor/htmx.min.js"  # served by web/app.py
CHECKBOX_BOOLS = frozenset({"yesno", "noyes", "yesnowide", "noyeswide"})
RADIO_BOOLS = frozenset({"yesnoradio", "noyesradio", "yesnomaybe", "noyesmaybe"})
MULTI = frozenset({"checkboxes", "multiselect"})
NUMBER_TYPES = frozenset({"currency", "number", "float", "range", "integer"})

ONLY_IN_FORM = _("This question cannot be answered in the chat. Please continue as a form.")
PLACEHOLDER_DATE = _("e.g. 15/03/1990 or next Friday")
PLACEHOLDER_AMOUNT = _("e.g. 25000, 25k or 25 triệu")


@dataclass
class Bubble:
    who: str  # "bot" or "me"
    html: Markup
    error: bool = False


@dataclass
class Reply:
    name: str
    value: str
    label: Markup


@dataclass
class ChatView:
    """What a chat page shows; `status` 404 means nothing (not found)."""

    status: int = 200
    redirect: str | None = None
    lang: str = "en"
    version: int = 0
    bubbles: list[Bubble] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    multi: list[Choice] = field(default_factory=list)
    ask: Field | None = None  # the field the text box answers
    text_box: bool = False
    typed: str = ""
    error: bool = False
    skip: bool = False
    back: bool = False
    title: str = ""
    checked: set[str] = field(default_factory=set)  # the boxes ticked before (Back, Edit)
    new_from: int = 0  # the bubbles from here on are what the bot says now (the live region reads them)


class Chat:
    def __init__(self, wizard: Wizard, today: Callable[[], dt.date] = dt.date.today) -> None:
        self.wizard = wizard
        self.today = today  # relative dates ("tomorrow") count from here; the engine reads no clock

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/s/{session_id}/chat", self.show, methods=["GET"]),
            Route("/s/{session_id}/chat", self.post, methods=["POST"]),
        ]

    # -- routes -----------------------------------------------------------------------------

    async def show(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]
        if not self.wizard._owned(request, session_id):
            return self.wizard._plain(request, 404)
        view = await run_in_threadpool(self._view, session_id)
        return self._respond(request, session_id, view)

    async def post(self, request: Request) -> Response:
        session_id = request.path_params["session_id"]
        if not self.wizard._owned(request, session_id):
            return self.wizard._plain(request, 404)
        form = await request.form()
        try:
            if not self.wizard.csrf_ok(session_id, form):
                return self.wizard._plain(request, 403)
            view = await run_in_threadpool(self._post, session_id, form)
        finally:
            await form.close()
        if is_htmx(request) and view.redirect == f"/s/{session_id}/chat":
            view = await run_in_threadpool(self._view, session_id)  # no round trip: the new bubbles now
        return self._respond(request, session_id, view)

    # -- units of work ----------------------------------------------------------------------

    def _view(self, session_id: str, notice: str | None = None, status: int = 200, error: list[str] | None = None,
              typed: str = "") -> ChatView:
        with DB(self.wizard.db) as db:
            try:
                session, iv, state = self.wizard._load(db, session_id)
            except SessionNotFound:
                return ChatView(status=404)
            return self._build(iv, state, session, notice=notice, status=status, error=error, typed=typed)

    def _post(self, session_id: str, form: FormData) -> ChatView:
        submit: list[tuple[str, str]] | None = None
        with DB(self.wizard.db) as db:
            try:
                session, iv, state = self.wizard._load(db, session_id)
            except SessionNotFound:
                return ChatView(status=404)
            _t = translator(state.lang)
            if str(form.get("_version", "")) != str(session.version):
                return self._build(iv, state, session, notice=_t(STALE), status=409)
            step = engine.plan(iv, state)
            if isinstance(step, Done) or step.is_end:  # as in the wizard: an end screen takes no answer
                return ChatView(redirect=f"/s/{session_id}/chat")
            draft = draft_values(session, step)
            base = [("_csrf", self.wizard.csrf_token(session_id)), ("_version", str(session.version))]
            if "_back" in form:
                if draft:  # Back inside a screen: un-answer its last answered field, in screen order
                    # (not the dict's order: PostgreSQL's JSONB does not keep the order keys were added in)
                    last = next(f.key for f in reversed(step.fields) if f.key in draft)
                    draft.pop(last)
                    return self._keep(db, session, step, draft, session_id)
                if not state.history:
                    return self._build(iv, state, session, notice=_t(NO_BACK), status=409)
                submit = [*base, ("_back", "1")]
            elif isinstance(form.get("_edit"), str):
                submit = [*base, ("_edit", str(form.get("_edit")))]
            elif isinstance(form.get("_button"), str):
                submit = [*base, *_pairs(draft), ("_button", str(form.get("_button")))]
            else:
                asked = next_field(step, draft)
                typed = str(form.get("answer") or "").strip()
                if asked is None:
                    button = self._typed_button(step, typed, state.lang)
                    if isinstance(button, list):
                        return self._build(iv, state, session, status=422, error=button, typed=typed)
                    submit = [*base, *_pairs(draft), *([("_button", str(button))] if button is not None else [])]
                else:
                    value, problems = self._answer(iv, state, step, draft, asked, form, typed)
                    if problems:
                        return self._build(iv, state, session, status=422, error=problems, typed=typed)
                    draft[asked.key] = value
                    if next_field(step, draft) is not None:
                        return self._keep(db, session, step, draft, session_id)
                    submit = [*base, *_pairs(draft)]
        assert submit is not None
        return self._submit(session_id, submit, draft)

    def _answer(self, iv: engine.Interview, state: State, step: Screen, draft: dict[str, Any], asked: Field,
                form: FormData, typed: str) -> tuple[Any, list[str]]:
        """The value to keep for `asked`, or the messages saying why not (parser, then engine)."""
        parsed_error: str | None = None
        value: Any
        if asked.datatype in MULTI:
            value = [v for v in form.getlist("_multi") if isinstance(v, str)]
        elif "_skip" in form and not asked.required:
            value = ""
        elif isinstance(form.get("_reply"), str):
            value = str(form.get("_reply"))  # a quick reply carries the canonical value
        else:
            parsed = parse_answer(asked, typed, self.today(), state.lang)
            value = parsed.value if parsed.value is not None else typed
            parsed_error = parsed.error
        trial = State.from_json(state.to_json())  # the check must not touch the state it came from
        try:
            result = engine.apply(iv, trial, step, {**draft, asked.key: value})
        except engine.InterviewError:  # e.g. validation code that needs the fields not asked yet
            result = trial  # the whole screen is checked again when it is submitted
        messages = result.for_key(asked.key) if isinstance(result, engine.ValidationErrors) else []
        if parsed_error is not None and (typed or not messages):
            messages.append(parsed_error)  # after the engine's message: what would have worked
        return value, messages

    @staticmethod
    def _typed_button(step: Screen, typed: str, lang: str) -> int | None | list[str]:
        """A typed answer to a yes/no or buttons screen: the button it names (None: continue)."""
        if step.kind not in BUTTON_KINDS or not typed:
            return None
        if step.kind in ("yesno", "noyes", "yesnomaybe", "noyesmaybe"):
            parsed = parse_yes_no(typed, lang)
            if parsed.value is not None:
                wanted = parsed.value == "True"
                for i, b in enumerate(step.buttons):
                    if b.value is wanted:
                        return i
        options = [Choice(b.label, i) for i, b in enumerate(step.buttons) if b.action == "continue"]
        match = match_choice(typed, options, lang)
        if match.value is not None:
            return int(match.value)
        return [match.error or ""]

    def _keep(self, db: DB, session: SessionRow, step: Screen, draft: dict[str, Any], session_id: str) -> ChatView:
        try:
            save_draft(db, session, {"block": step.block_id, "bindings": step.bindings, "values": draft})
        except StaleSession:
            fresh, iv, state = self.wizard._load(db, session_id)
            return self._build(iv, state, fresh, notice=translator(state.lang)(STALE), status=409)
        return ChatView(redirect=f"/s/{session_id}/chat")

    def _submit(self, session_id: str, pairs: list[tuple[str, str]], draft: dict[str, Any]) -> ChatView:
        """The screen as a whole through the wizard's POST path (apply, save_step)."""
        items: list[tuple[str, str | UploadFile]] = list(pairs)
        outcome: Outcome = self.wizard._post(session_id, FormData(items))
        if outcome.status == 404:
            return ChatView(status=404)
        if outcome.redirect is not None:
            target = outcome.redirect
            if target == f"/s/{session_id}":
                target += "/chat"
            elif "?restarted=" in target:
                target = target.replace("?restarted=", "/chat?restarted=")
            return ChatView(redirect=target)
        if outcome.status == 422 and outcome.screen is not None:
            # e.g. validation code over several fields: re-ask the first field it blames
            errors = outcome.errors
            kept = {k: v for k, v in draft.items() if k not in errors}
            messages = [m for msgs in errors.values() for m in msgs]
            with DB(self.wizard.db) as db:
                try:
                    session, iv, state = self.wizard._load(db, session_id)
                except SessionNotFound:
                    return ChatView(status=404)
                if kept != draft:
                    try:
                        session = save_draft(db, session, {"block": outcome.screen.block_id,
                                                           "bindings": outcome.screen.bindings, "values": kept})
                    except StaleSession:
                        pass
                return self._build(iv, state, session, status=422, error=messages)
        return self._view(session_id, notice=outcome.notice, status=outcome.status)

    # -- the page ---------------------------------------------------------------------------

    def _build(self, iv: engine.Interview, state: State, session: SessionRow, *, notice: str | None = None,
               status: int = 200, error: list[str] | None = None, typed: str = "") -> ChatView:
        lang = state.lang
        _t = translator(lang)
        view = ChatView(status=status, lang=lang, version=session.version, typed=typed)
        for exchange in transcript(iv, state):
            view.bubbles.extend(history_bubbles(exchange.screen, exchange.answers, lang))
        step = engine.plan(iv, state)
        if notice:
            view.bubbles.append(Bubble("bot", escape(notice)))
        if isinstance(step, Done):
            view.bubbles.append(Bubble("bot", markup.render(step.message or _t("Finished"))))
            view.title = _t("Finished")
            return view
        view.title = step.question
        view.bubbles.append(Bubble("bot", question_html(step, _t)))
        draft = draft_values(session, step)
        asked = next_field(step, draft)
        for f in step.fields:  # the part of the screen answered so far
            if f is asked:
                break
            if f.var is None and f.note:
                view.bubbles.append(Bubble("bot", markup.render(f.note)))
            elif f.key in draft and f.var is not None:
                view.bubbles.append(Bubble("bot", field_label(f, step)))
                view.bubbles.append(Bubble("me", escape(format_answer(f, draft[f.key], lang, _t))))
        if step.review:
            items = Markup("").join(
                Markup('<li>{}</li>').format(markup.render(item.text)) for item in step.review if item.text)
            view.bubbles.append(Bubble("bot", Markup('<ul class="chat-review">{}</ul>').format(items)))
        view.back = bool(draft) or step.back_button
        if asked is not None:
            if asked.datatype in FILE_TYPES or asked.datatype == "signature":
                view.bubbles.append(Bubble("bot", escape(_t(ONLY_IN_FORM))))
                return view
            if not (len([f for f in step.fields if f.var and not set_by_button(step, f)]) == 1
                    and not asked.label):
                view.bubbles.append(Bubble("bot", field_label(asked, step)))
            for note in trailing_notes(step, asked):
                view.bubbles.append(Bubble("bot", markup.render(note)))
            view.ask = asked
            view.replies = field_replies(asked, _t)
            if not view.replies and asked.default not in (None, "") and asked.datatype not in MULTI:
                # the answer given before (Back, Edit) or the field's default, as one tap
                view.replies = [Reply("_reply", _as_text(asked.default),
                                      escape(format_answer(asked, asked.default, lang, _t)))]
            view.multi = list(asked.choices) if asked.datatype in MULTI else []
            view.checked = {str(v) for v in _checked(asked.default)} if asked.datatype in MULTI else set()
            view.text_box = asked.datatype not in MULTI
            view.skip = not asked.required
        else:
            view.replies = screen_replies(step, _t)
            view.text_box = step.kind in BUTTON_KINDS and not step.is_end
        if error:
            view.error = True
            for message in error:
                view.bubbles.append(Bubble("bot", escape(message), error=True))
        return view

    def _respond(self, request: Request, session_id: str, view: ChatView) -> Response:
        if view.status == 404:
            return self.wizard._plain(request, 404)
        if view.redirect is not None:
            target = view.redirect
            if "?restarted=" in target:  # a restart opened a new session: let this browser in
                target = target.split("?", 1)[0]
                remember(request, target.split("/")[2])
            if is_htmx(request) and target != f"/s/{session_id}/chat":
                return Response(status_code=200, headers={"HX-Redirect": target})
            return RedirectResponse(target, status_code=303)
        _t = translator(view.lang)
        view.new_from = 1 + max((i for i, b in enumerate(view.bubbles) if b.who == "me"), default=-1)
        context = {
            "_": _t,
            "lang": view.lang,
            "view": view,
            "csrf": self.wizard.csrf_token(session_id),
            "action": f"/s/{session_id}/chat",
            "form_url": f"/s/{session_id}",
            "input_mode": _input_mode(view.ask),
            "placeholder": _placeholder(view.ask, _t),
            "htmx": HTMX_PATH,
        }
        name = "chat_fragment.html" if is_htmx(request) else "chat.html"
        html = templates.get_template(name).render(context)
        return HTMLResponse(html, status_code=view.status, headers={"Cache-Control": "no-store", "Vary": "HX-Request"})


# -- screens to bubbles ------------------------------------------------------------------------


def next_field(screen: Screen, draft: dict[str, Any]) -> Field | None:
    """The next field to ask: the first shown one (same-screen `show if` judged on the draft)
    with a variable, not set by a button and not answered yet."""
    if screen.kind == "end":
        return None
    shown = engine.visible_keys(screen, draft)
    for f in screen.fields:
        if f.var is None or set_by_button(screen, f) or f.key not in shown:
            continue
        if f.key not in draft:
            return f
    return None


def trailing_notes(screen: Screen, asked: Field) -> list[str]:
    """Notes after the last input of a screen, shown with that last input (else never seen)."""
    inputs = [i for i, f in enumerate(screen.fields) if f.var is not None and not set_by_button(screen, f)]
    at = screen.fields.index(asked)
    if not inputs or at != inputs[-1]:
        return []
    return [f.note for f in screen.fields[at + 1:] if f.var is None and f.note]


def question_html(screen: Screen, _t: Callable[[str], str]) -> Markup:
    parts = [Markup("<strong>{}</strong>").format(markup.render(screen.question, inline=True))]
    if screen.subquestion:
        parts.append(markup.render(screen.subquestion))
    if screen.help:
        parts.append(Markup('<details class="help"><summary>{}</summary>{}</details>').format(
            screen.help_label or _t("Help"), markup.render(screen.help)))
    if screen.is_end and screen.under:
        parts.append(markup.render(screen.under))
    return Markup("").join(parts)


def field_label(f: Field, screen: Screen) -> Markup:
    label = markup.render(f.label or screen.question, inline=True)
    if f.hint:
        label = Markup('{}<small class="hint">{}</small>').format(label, markup.render(f.hint, inline=True))
    return label


def history_bubbles(screen: Screen, answers: dict[str, Any], lang: str) -> list[Bubble]:
    """One answered screen: its question, then each field's label and answer (or the button)."""
    _t = translator(lang)
    out = [Bubble("bot", Markup("<strong>{}</strong>").format(markup.render(screen.question, inline=True)))]
    inputs = [f for f in screen.fields if f.var is not None and f.key in answers and f.datatype != "continue"]
    if screen.kind in BUTTON_KINDS or not inputs:
        value = next((answers[f.key] for f in screen.fields if f.key in answers), None)
        label = next((b.label for b in screen.buttons if b.action == "continue" and _same(b.value, value)), None)
        if label is None and inputs:
            label = format_answer(inputs[0], value, lang, _t)
        out.append(Bubble("me", markup.render(label or screen.continue_label or _t("Continue"), inline=True)))
        return out
    single = len(inputs) == 1 and not inputs[0].label
    for f in inputs:
        if not single:
            out.append(Bubble("bot", markup.render(f.label, inline=True)))
        out.append(Bubble("me", escape(format_answer(f, answers[f.key], lang, _t))))
    return out


def _same(a: Any, b: Any) -> bool:
    return a is b or (type(a) is type(b) and a == b)


def format_answer(f: Field, value: Any, lang: str, _t: Callable[[str], str]) -> str:
    """An answer as the applicant would say it, in their language: Yes/No, the choice's label,
    15/03/1990 or 15 Mar 1990, 25.000.000 or 25,000,000. Accepts typed values and the draft's text."""
    dtype = f.datatype
    if value is None or value == "":
        return "—"
    if dtype in CHECKBOX_BOOLS or dtype in RADIO_BOOLS:
        b = value if isinstance(value, bool) else coerce_.parse_bool(value)
        if b is None:
            return _t("I don't know") if str(value).lower() in ("none", "maybe") else str(value)
        if dtype.startswith("noyes") and isinstance(value, bool):
            b = not b  # the variable holds the inverse of the box
        return _t("Yes") if b else _t("No")
    if dtype in MULTI:
        elements = getattr(value, "elements", None)
        chosen = [k for k, v in elements.items() if v] if isinstance(elements, dict) else list(value)
        labels = [c.label for c in f.choices if any(str(c.value) == str(v) for v in chosen)]
        return ", ".join(labels) or "—"
    if f.choices:
        for c in f.choices:
            if str(c.value) == str(value):
                return str(c.label)
    if dtype in ("date", "datetime"):
        day = coerce_.parse_date(value)
        if day is not None:
            return format_date(day.date(), "dd/MM/yyyy" if lang == "vi" else "d MMM y", locale=_babel(lang))
    if dtype in NUMBER_TYPES:
        number = value if isinstance(value, int | float | Decimal) and not isinstance(value, bool) else \
            coerce_.parse_number(value)
        if number is not None:
            return format_decimal(number, locale=_babel(lang))
    if isinstance(value, dict) and "filename" in value:
        return str(value["filename"])
    filename = getattr(value, "filename", None)
    if isinstance(filename, str):
        return filename
    return str(value)


def _babel(lang: str) -> str:
    return "vi_VN" if lang == "vi" else "en_GB" if lang == "en" else lang


def field_replies(f: Field, _t: Callable[[str], str]) -> list[Reply]:
    dtype = f.datatype
    if dtype in CHECKBOX_BOOLS or dtype in RADIO_BOOLS:
        replies = [Reply("_reply", "True", escape(_t("Yes"))), Reply("_reply", "False", escape(_t("No")))]
        if dtype.endswith("maybe"):
            replies.append(Reply("_reply", "None", escape(_t("I don't know"))))
        return replies
    if f.choices and dtype not in MULTI:
        return [Reply("_reply", str(c.value), markup.render(c.label, inline=True)) for c in f.choices]
    return []


def screen_replies(screen: Screen, _t: Callable[[str], str]) -> list[Reply]:
    replies: list[Reply] = []
    if screen.is_end:
        return replies
    for i, b in enumerate(screen.buttons):
        if b.action.startswith(("http://", "https://")):
            continue  # a link, not an answer
        replies.append(Reply("_button", str(i), markup.render(b.label, inline=True)))
    if not screen.buttons and not screen.is_end:
        replies.append(Reply("_send", "1", escape(screen.continue_label or _t("Continue"))))
    for n, item in enumerate(screen.review):
        if item.vars:
            text = " ".join(markup.render(item.text, inline=True).striptags().split())
            replies.append(Reply("_edit", str(n), escape(f"{_t('Edit')}: {text[:40]}{'…' if len(text) > 40 else ''}")))
    return replies


def _input_mode(f: Field | None) -> str | None:
    if f is None:
        return None
    return {"integer": "numeric", "email": "email"}.get(f.datatype)


def _placeholder(f: Field | None, _t: Callable[[str], str]) -> str:
    if f is None:
        return ""
    if f.datatype in ("date", "datetime"):
        return _t(PLACEHOLDER_DATE)
    if f.datatype in NUMBER_TYPES - {"integer"}:
        return _t(PLACEHOLDER_AMOUNT)
    return ""


def _pairs(values: dict[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for key, value in values.items():
        if isinstance(value, list):
            out.extend((key, str(v)) for v in value)
        else:
            out.append((key, str(value)))
    return out
