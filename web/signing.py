"""The signer's pages: one personal link per participant (`/sign/<token>`, signed and expiring,
`signing.links`), phone-first, English or Vietnamese by the envelope's language.

    GET  /sign/{token}                 the participant's page: every participant's status, the
                                       agreement, and the next step (identify, consent, act)
    POST /sign/{token}/code            send a one-time code (form `method`: email_code or sms_code)
    POST /sign/{token}/verify          check the code
    POST /sign/{token}/passkey-options WebAuthn options (JSON): register a passkey or authenticate
    POST /sign/{token}/passkey         check the passkey answer (JSON)
    POST /sign/{token}/consent         consent to do business electronically
    POST /sign/{token}/pay             the payer's payment step: 303 to the provider's hosted checkout
                                       (back to `?pay=done` or `?pay=back`; paid only by the webhook)
    POST /sign/{token}/act             sign (drawn, typed in a script font, or an uploaded picture), approve,
                                       or mark as reviewed (multipart: the picture is a file)
    POST /sign/{token}/decline         decline, with a reason
    POST /sign/{token}/delegate        hand the place to someone else
    GET  /sign/{token}/document.pdf    the latest revision of the document

Every POST carries a CSRF token bound to the participant and answers 303 (done) or 422 (the
message next to the field). The link is the participant's only key: it opens nothing else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from babel.numbers import format_currency
from sqlalchemy import Engine
from sqlmodel import Session as DB
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

import engine
from documents.preview import preview_html
from engine.assembly import source_from_json
from payments import PaymentError, PaymentProvider, to_major
from signing import ceremony, envelopes, payment
from signing.envelopes import EnvelopeError, Notifier
from signing.identity import UNAVAILABLE, EmailCode, IdentityError, OneTimeCode, SmsCode, next_step
from signing.links import LinkError, read_token
from signing.passkeys import Passkey
from signing.signature_image import SignatureImageError, normalise_upload, typed_signature_png
from signing.sms import SmsError
from signing.states import SIGNING_ACTIONS, TransitionError
from store.blobs import BlobNotFound, BlobStore
from store.models import AgreementVersion, Envelope, InterviewVersion, Participant, Payment
from store.sessions import SessionNotFound, compile_version, load_state
from web.i18n import _, translator
from web.wizard import templates

log = logging.getLogger("accord.web.signing")

LINK_MAX_AGE = 60 * 24 * 3600  # the envelope's own expiry is checked too; this bounds a link's life
MAX_IMAGE = 512 * 1024
PNG = b"\x89PNG\r\n\x1a\n"

DISCLOSURE = {
    "en": _("I agree to receive this agreement, its notices and disclosures electronically and to sign it "
            "electronically. My electronic signature has the same legal effect as a handwritten one (in the United "
            "States under the ESIGN Act and UETA; in Vietnam under the Law on Electronic Transactions 2023). I may "
            "ask for a paper copy free of charge and may withdraw this consent for future documents by writing to "
            "the sender."),
}
MESSAGES = {
    "code_sent": _("We sent a 6-digit code to your e-mail address. It is valid for 10 minutes."),
    "wrong": _("This code is not right. Check the latest e-mail and try again."),
    "expired": _("This code has expired or was tried too often. Ask for a new code."),
    "no_code": _("Ask for a code first."),
    "rate_limited": _("A code was sent several times already. Wait a few minutes before asking again."),
    "locked": _("Too many wrong codes. For your security, try again in an hour."),
    "sms_sent": _("We sent a 6-digit code by text message. It is valid for 10 minutes."),
    "no_phone": _("We have no mobile number for you. Ask the sender to add it."),
    "sms_failed": _("The text message could not be sent. Try again in a moment, or contact the sender."),
    "passkey_failed": _("Your passkey could not be checked. Try again."),
    "passkey_ok": _("Your passkey is confirmed."),
}


UPLOAD_ERRORS = {
    "empty": _("The picture is empty. Choose another file, draw your signature or type your name."),
    "too_large": _("The picture is too large (at most 512 KB). Choose a smaller one."),
    "type": _("Only PNG and JPEG pictures can be used. Choose another file."),
    "unreadable": _("The picture could not be read. Choose another file, draw your signature or type your name."),
}
ROLE_NAMES = {  # the shipped interviews' roles (others are shown as written, underscores as spaces)
    "applicant": _("applicant"), "co_applicant": _("co-applicant"), "loan_officer": _("loan officer"),
    "lender": _("lender"), "records": _("records"), "tenant": _("tenant"), "co_tenant": _("co-tenant"),
    "second_co_tenant": _("second co-tenant"), "leasing_agent": _("leasing agent"), "landlord": _("landlord"),
    "witness": _("witness"), "reviewer": _("reviewer"),
}
PROBLEMS = [  # signing.envelopes' English reasons -> what the signer reads
    ("expired", _("This agreement has expired. Ask the sender for a new one.")),
    ("is voided", _("The sender has cancelled this agreement.")),
    ("is declined", _("This agreement was declined, so it cannot be signed any more.")),
    ("is completed", _("Everyone has already acted on this agreement.")),
    ("turn", _("It is not your turn yet: we will e-mail you when it is.")),
    ("changed meanwhile", _("Someone acted at the same moment. Reload the page and try again.")),
]


def problem_text(exc: Exception) -> str:
    """A translatable message for an envelope error (its own text is English, for logs and the CLI)."""
    text = str(exc)
    return next((message for key, message in PROBLEMS if key in text),
                _("This step cannot be done now. Reload the page to see where the agreement stands."))


METHOD_NAMES = {
    "email_code": _("e-mail code"), "sms_code": _("text message code"), "passkey": _("passkey"),
    "id_document": _("ID document check"), "video_call": _("video call"), "kba": _("knowledge-based questions"),
}
PAY_MESSAGES = {
    "done": _("Thank you. We are confirming your payment with the payment provider; this page updates by itself."),
    "back": _("The payment was not completed and nothing was charged. You can pay when you are ready."),
    "card_declined": _("Your card was declined and nothing was charged. Try again with another card, or ask your "
                       "bank."),
    "failed": _("The payment did not go through and nothing was charged. Try again."),
}


@dataclass
class View:
    status: int = 200
    lang: str = "en"
    envelope: Envelope | None = None
    me: Participant | None = None
    people: list[Participant] = field(default_factory=list)
    preview: str | None = None
    errors: dict[str, str] = field(default_factory=dict)
    notice: str | None = None
    problem: str | None = None
    step: str | None = None  # the participant's next identity check
    done: list[str] = field(default_factory=list)
    has_passkey: bool = False
    pending: dict[str, str] = field(default_factory=dict)  # participant id -> a check not available yet
    typed: dict[str, str] = field(default_factory=dict)  # signing fields as posted (kept on an error)
    payment: Payment | None = None
    confirming: bool = False  # back from the checkout, the webhook not seen yet: refresh


class SigningPages:
    def __init__(self, db: Engine, secret: str, blob_dir: Any, *, notifier: Notifier | None = None,
                 send_code: Callable[[Participant, str], None] | None = None,
                 send_sms: Callable[[Participant, str], None] | None = None,
                 signer: ceremony.DocumentSigner | None = None, public_url: str = "",
                 payments: PaymentProvider | None = None) -> None:
        self.db = db
        self.secret = secret
        self.blobs = BlobStore(blob_dir)
        self.notifier = notifier
        self.signer = signer
        self.pades: Any = None  # signing.pades.Pades, set at start-up when the app has a PKI: seals envelopes
        self.public_url = public_url
        self.payments = payments
        self.email_code = EmailCode(secret.encode("utf-8"), send_code or (lambda p, code: None))
        self.sms_code = SmsCode(secret.encode("utf-8"), send_sms or (lambda p, code: None))
        self.codes: dict[str, OneTimeCode] = {"email_code": self.email_code, "sms_code": self.sms_code}
        self.passkey = Passkey(public_url or "http://localhost")

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/sign/{token}", self.page, methods=["GET"]),
            Route("/sign/{token}/document.pdf", self.document, methods=["GET"]),
            Route("/sign/{token}/{step:str}", self.post, methods=["POST"]),
        ]

    # -- helpers ----------------------------------------------------------------------------

    def csrf(self, participant_id: str) -> str:
        return hmac.new(self.secret.encode(), f"sign:{participant_id}".encode(), hashlib.sha256).hexdigest()

    def _participant_id(self, token: str) -> str | int:
        try:
            return read_token(self.secret, token, LINK_MAX_AGE)
        except LinkError as exc:
            return 410 if exc.expired else 404

    @staticmethod
    def _request(request: Request) -> envelopes.Request:
        return envelopes.Request(ip=request.client.host if request.client else None,
                                 user_agent=request.headers.get("user-agent"))

    def _load(self, db: DB, pid: str) -> View:
        me = db.get(Participant, pid)
        if me is None:
            return View(status=404)
        envelope, people = envelopes.load(db, me.envelope_id)
        lang = "vi" if envelope.language.startswith("vi") else "en"
        preview = None
        if envelope.agreement_version_id is not None:
            version = db.get(AgreementVersion, envelope.agreement_version_id)
            if version is not None:
                preview = preview_html(source_from_json(version.source))
        view = View(lang=lang, envelope=envelope, me=me, people=people, preview=preview,
                    payment=payment.of_envelope(db, envelope.id))
        if envelope.status == "sent":
            for p in people:
                if p.status not in ("notified", "opened"):
                    continue
                done = envelopes.identity_done(db, p.id)
                has = "passkey" in p.identity and self.passkey.has_passkey(db, p)
                step = next_step(p.identity, done, has)
                if step in UNAVAILABLE:
                    view.pending[p.id] = step
                if p.id == me.id:
                    view.step, view.done, view.has_passkey = step, done, has
        return view

    def _render(self, token: str, view: View) -> Response:
        _t = translator(view.lang)
        if view.envelope is None or view.me is None:
            message = {410: _t("This link has expired. Ask the sender for a new one."),
                       404: _t("This link is not valid.")}.get(view.status, _t("This link is not valid."))
            html = templates.get_template("message.html").render(_=_t, lang=view.lang, message=message)
            return HTMLResponse(html, status_code=view.status)
        me = view.me
        wanted = me.identity or ["email_code"]
        # The role's methods are passed in order, all of them; one this server does not offer blocks it.
        context = {
            "_": _t, "lang": view.lang, "token": token, "csrf": self.csrf(me.id), "envelope": view.envelope,
            "me": me, "people": view.people, "preview": view.preview, "errors": view.errors,
            "notice": view.notice, "problem": view.problem, "step": view.step, "done": view.done,
            "pending": view.pending, "has_passkey": view.has_passkey, "phone_hint": _phone_hint(me.phone),
            "wanted_methods": wanted, "method_names": {k: _t(v) for k, v in METHOD_NAMES.items()},
            "role_names": {k: _t(v) for k, v in ROLE_NAMES.items()},
            "signs": me.action in SIGNING_ACTIONS,
            "disclosure": _t(DISCLOSURE["en"]), "signer_ready": self.signer is not None,
            "signer_fields": self._field_views(view),
        }
        context.update(self._payment_context(view, _t))
        html = templates.get_template("sign.html").render(context)
        return HTMLResponse(html, status_code=view.status, headers={"Cache-Control": "no-store",
                                                                   "Referrer-Policy": "no-referrer"})

    def _payment_context(self, view: View, _t: Callable[[str], str]) -> dict[str, Any]:
        pay, envelope, me = view.payment, view.envelope, view.me
        assert envelope is not None and me is not None
        if pay is None:
            return {"payment": None, "pay_now": False, "waiting_payment": False}
        waiting = payment.due_now(pay, envelope, view.people)
        locale = "vi_VN" if view.lang == "vi" else "en_US"
        amount = format_currency(to_major(pay.amount_minor, pay.currency), pay.currency, locale=locale)
        error = None
        if waiting and pay.last_error and not view.confirming:
            error = _t(PAY_MESSAGES["card_declined" if pay.last_error in ("card_declined", "insufficient_funds",
                                                                          "generic_decline") else "failed"])
        return {"payment": pay, "pay_now": waiting and pay.participant_id == me.id, "waiting_payment": waiting,
                "pay_amount": amount, "pay_error": error, "payments_ready": self.payments is not None,
                "confirming": view.confirming and waiting}

    async def seal_if_complete(self, envelope_id: str) -> None:
        """Seal an envelope that something other than a signature completed (its payment's webhook)."""
        if self.pades is not None:
            await self._seal_if_complete(envelope_id)

    def _signing_screen(self, db: DB, me: Participant, lang: str) -> tuple[Any, Any, Any] | None:
        """(interview, state, screen) of the fields this participant's party fills in while signing."""
        envelope = db.get(Envelope, me.envelope_id)
        if envelope is None or envelope.session_id is None or me.action not in SIGNING_ACTIONS:
            return None
        try:
            session, state = load_state(db, envelope.session_id)
        except SessionNotFound:
            return None
        version = db.get(InterviewVersion, session.interview_version_id)
        if version is None:
            return None
        iv = compile_version(version)
        state.lang = lang
        screen = engine.signer_screen(iv, state, me.role)
        if screen is None or not screen.fields:
            return None
        return iv, state, screen

    def _field_views(self, view: View) -> list[dict[str, Any]]:
        if view.me is None or view.me.status != "identified":
            return []
        with DB(self.db) as db:
            found = self._signing_screen(db, view.me, view.lang)
        if found is None:
            return []
        return [{"key": f.key, "label": f.label, "hint": f.hint or "", "value": view.typed.get(f.key, ""),
                 "error": view.errors.get(f"field:{f.key}"),
                 "mode": "decimal" if f.datatype in ("number", "currency", "float", "integer", "range") else "text"}
                for f in found[2].fields]

    def _check_fields(self, pid: str, form: FormData, lang: str) -> View | dict[str, Any]:
        """Validate the signing fields like interview fields: their values, or the page with the
        messages next to the fields (nothing is signed then)."""
        with DB(self.db) as db:
            me = db.get(Participant, pid)
            assert me is not None
            found = self._signing_screen(db, me, lang)
            if found is None:
                return {}
            iv, state, screen = found
            posted = {f.key: str(form.get(f.key, "")) for f in screen.fields}
            result = engine.apply(iv, state, screen, posted)
            if isinstance(result, engine.ValidationErrors):
                view = self._fail(db, pid)
                view.errors = {f"field:{e.key}": e.message for e in result.errors}
                view.typed = posted
                return view
            ns = result.to_json()["answers"]
            return {f.var: ns.get(f.var) for f in screen.fields if f.var}

    # -- routes ---------------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        token = request.path_params["token"]
        pid = self._participant_id(token)
        if isinstance(pid, int):
            return self._render(token, View(status=pid))
        req = self._request(request)

        def work() -> View:
            with DB(self.db) as db:
                view = self._load(db, pid)
                if view.me is None or view.envelope is None:
                    return view
                try:
                    envelopes.retrying(lambda: envelopes.opened(db, pid, request=req))
                except (EnvelopeError, TransitionError):
                    db.rollback()
                view = self._load(db, pid)
                notice = request.query_params.get("m")
                if notice in MESSAGES:
                    view.notice = translator(view.lang)(MESSAGES[notice])
                back = request.query_params.get("pay")
                if back in ("done", "back") and view.payment is not None and view.payment.status == "due":
                    view.confirming = back == "done"
                    view.notice = translator(view.lang)(PAY_MESSAGES[back])
                return view

        return self._render(token, await run_in_threadpool(work))

    async def document(self, request: Request) -> Response:
        pid = self._participant_id(request.path_params["token"])
        if isinstance(pid, int):
            return HTMLResponse("", status_code=pid)

        def work() -> tuple[str, bytes] | None:
            with DB(self.db) as db:
                me = db.get(Participant, pid)
                envelope = db.get(Envelope, me.envelope_id) if me else None
                if envelope is None:
                    return None
                try:
                    return envelope.current_sha256, self.blobs.get(envelope.current_sha256)
                except BlobNotFound:
                    log.error("envelope document missing from the blob store", extra={"session": envelope.id})
                    return None

        found = await run_in_threadpool(work)
        if found is None:
            return HTMLResponse("", status_code=404)
        sha, data = found
        return Response(data, media_type="application/pdf", headers={
            "Content-Disposition": 'inline; filename="agreement.pdf"', "Cache-Control": "private, no-store",
            "X-Content-SHA256": sha})

    async def post(self, request: Request) -> Response:
        token = request.path_params["token"]
        step = request.path_params["step"]
        pid = self._participant_id(token)
        if isinstance(pid, int):
            return self._render(token, View(status=pid))
        form = await request.form()
        try:
            sent = form.get("_csrf")
            if not isinstance(sent, str) or not hmac.compare_digest(sent, self.csrf(pid)):
                return HTMLResponse("", status_code=403)
            req = self._request(request)
            if step == "act":
                return await self._act(token, pid, form, req)
            if step == "pay":
                return await self._pay(token, pid, request, req)
            handler = {"code": self._code, "verify": self._verify, "consent": self._consent,
                       "decline": self._decline, "delegate": self._delegate,
                       "passkey-options": self._passkey_options, "passkey": self._passkey}.get(step)
            if handler is None:
                return HTMLResponse("", status_code=404)
            result = await run_in_threadpool(handler, pid, form, req)
        finally:
            await form.close()
        if isinstance(result, View):
            return self._render(token, result)
        if isinstance(result, Response):
            return result
        return RedirectResponse(f"/sign/{token}{result}", status_code=303)

    # -- units of work (threads) ----------------------------------------------------------

    def _fail(self, db: DB, pid: str, errors: dict[str, str] | None = None, problem: str | None = None,
              status: int = 422) -> View:
        db.rollback()
        view = self._load(db, pid)
        _t = translator(view.lang)
        view.status = status
        view.errors = {k: _t(v) for k, v in (errors or {}).items()}
        view.problem = _t(problem) if problem else None
        return view

    def _method(self, form: FormData) -> str:
        method = str(form.get("method") or "email_code")
        return method if method in self.codes else "email_code"

    def _code(self, pid: str, form: FormData, req: envelopes.Request) -> View | str:
        method = self._method(form)
        with DB(self.db) as db:
            me = db.get(Participant, pid)
            assert me is not None
            envelope = db.get(Envelope, me.envelope_id)
            if envelope is None or envelope.status != "sent" or me.status not in ("notified", "opened"):
                # A page left open after a void, an expiry, a decline or the participant's own action.
                return self._fail(db, pid, problem=_("There is nothing to confirm here any more."), status=409)
            try:
                self.codes[method].start(db, me)
            except IdentityError as exc:
                return self._fail(db, pid, {"code": MESSAGES[exc.code]}, status=429 if exc.code != "no_phone" else 422)
            except SmsError:
                log.warning("SMS code not sent", extra={"session": me.envelope_id})
                return self._fail(db, pid, {"code": MESSAGES["sms_failed"]}, status=502)
            return ("?m=sms_sent" if method == "sms_code" else "?m=code_sent") + "#identify"

    def _step_done(self, db: DB, pid: str, method: str, evidence: dict[str, Any], req: envelopes.Request) -> bool:
        me = db.get(Participant, pid)
        has = me is not None and "passkey" in me.identity and self.passkey.has_passkey(db, me)
        return envelopes.retrying(lambda: envelopes.identity_step(db, pid, method, evidence, has_passkey=has,
                                                                  request=req))

    def _verify(self, pid: str, form: FormData, req: envelopes.Request) -> View | str:
        method = self._method(form)
        with DB(self.db) as db:
            me = db.get(Participant, pid)
            assert me is not None
            try:
                result = self.codes[method].check(db, me, str(form.get("code", "")))
                identified = self._step_done(db, pid, result.method, result.evidence, req)
            except IdentityError as exc:
                return self._fail(db, pid, {"code": MESSAGES[exc.code]})
            except (EnvelopeError, TransitionError) as exc:
                return self._fail(db, pid, problem=problem_text(exc), status=409)
            return "#consent" if identified else "#identify"

    def _passkey_options(self, pid: str, form: FormData, req: envelopes.Request) -> Response:
        with DB(self.db) as db:
            me = db.get(Participant, pid)
            assert me is not None
            envelope = db.get(Envelope, me.envelope_id)
            if envelope is None or envelope.status != "sent" or me.status != "opened":
                return JSONResponse({"error": "nothing to confirm"}, status_code=409)
            done = envelopes.identity_done(db, pid)
            has = self.passkey.has_passkey(db, me)
            if next_step(me.identity, done, has) != "passkey":
                return JSONResponse({"error": "not the passkey step"}, status_code=409)
            lang = "vi" if envelope.language.startswith("vi") else "en"
            try:
                options = self.passkey.options(db, me, email_verified="email_code" in done)
            except IdentityError as exc:
                return JSONResponse({"error": translator(lang)(MESSAGES[exc.code])}, status_code=429)
            return JSONResponse(options, headers={"Cache-Control": "no-store"})

    def _passkey(self, pid: str, form: FormData, req: envelopes.Request) -> Response:
        with DB(self.db) as db:
            me = db.get(Participant, pid)
            assert me is not None
            envelope = db.get(Envelope, me.envelope_id)
            lang = "vi" if envelope is not None and envelope.language.startswith("vi") else "en"
            try:
                result = self.passkey.check(db, me, str(form.get("credential", "")))
                identified = self._step_done(db, pid, result.method, result.evidence, req)
            except IdentityError as exc:
                db.rollback()
                return JSONResponse({"error": translator(lang)(MESSAGES[exc.code])}, status_code=422)
            except (EnvelopeError, TransitionError) as exc:
                db.rollback()
                return JSONResponse({"error": translator(lang)(problem_text(exc))}, status_code=409)
            return JSONResponse({"ok": True, "next": "#consent" if identified else "#identify"})

    def _consent(self, pid: str, form: FormData, req: envelopes.Request) -> View | str:
        with DB(self.db) as db:
            if form.get("agree") != "yes":
                return self._fail(db, pid, {"agree": _("Tick the box to agree, or decline below.")})
            try:
                envelopes.retrying(lambda: envelopes.consented(db, pid, "esign-disclosure-v1", request=req))
            except (EnvelopeError, TransitionError) as exc:
                return self._fail(db, pid, problem=problem_text(exc), status=409)
            return "#act"

    def _decline(self, pid: str, form: FormData, req: envelopes.Request) -> View | str:
        reason = str(form.get("reason", "")).strip()
        with DB(self.db) as db:
            if not reason:
                return self._fail(db, pid, {"reason": _("Say why you decline (the sender will read it).")})
            try:
                envelopes.retrying(lambda: envelopes.decline(db, pid, reason, self.notifier, request=req))
            except (EnvelopeError, TransitionError) as exc:
                return self._fail(db, pid, problem=problem_text(exc), status=409)
            return ""

    def _delegate(self, pid: str, form: FormData, req: envelopes.Request) -> View | str:
        name, email = str(form.get("name", "")).strip(), str(form.get("email", "")).strip()
        with DB(self.db) as db:
            if not name or "@" not in email or len(email) > 254:
                return self._fail(db, pid, {"delegate": _("Give the name and the e-mail address of the person.")})
            try:
                envelopes.retrying(lambda: envelopes.delegate(db, pid, name, email, str(form.get("reason", "")),
                                                              self.notifier, request=req))
            except (EnvelopeError, TransitionError) as exc:
                return self._fail(db, pid, problem=problem_text(exc), status=409)
            return ""

    async def _act(self, token: str, pid: str, form: FormData, req: envelopes.Request) -> Response:
        def check() -> View | tuple[Participant, str]:
            with DB(self.db) as db:
                view = self._load(db, pid)
                me = view.me
                assert me is not None
                if me.status != "identified":
                    return self._fail(db, pid, problem=_("Confirm who you are first."), status=409)
                if me.action in SIGNING_ACTIONS and me.consented_at is None:
                    return self._fail(db, pid, {"agree": _("Agree to sign electronically first.")})
                return me, view.lang

        checked = await run_in_threadpool(check)
        if isinstance(checked, View):
            return self._render(token, checked)
        me, lang = checked
        if me.action == "review":
            comment = str(form.get("comment", "")).strip()[:4000]

            def review() -> View | None:
                with DB(self.db) as db:
                    try:
                        envelopes.retrying(lambda: envelopes.acted(db, pid, self.notifier,
                                                                   detail={"comment": comment}, request=req))
                    except (EnvelopeError, TransitionError) as exc:
                        return self._fail(db, pid, problem=problem_text(exc), status=409)
                return None

            failed = await run_in_threadpool(review)
            if failed:
                return self._render(token, failed)
            if self.pades is not None:
                await self._seal_if_complete(me.envelope_id)
            return RedirectResponse(f"/sign/{token}", status_code=303)
        typed = str(form.get("typed", "")).strip()
        drawn = str(form.get("drawn", ""))
        image: bytes | None = None
        kind = "typed"
        upload = form.get("upload")
        if upload is not None and not isinstance(upload, str) and upload.filename:
            raw = await upload.read(MAX_IMAGE + 1)
            try:
                image = await run_in_threadpool(normalise_upload, raw)
            except SignatureImageError as exc:
                return self._render(token, await run_in_threadpool(
                    self._error_view, pid, {"upload": UPLOAD_ERRORS.get(exc.code, UPLOAD_ERRORS["unreadable"])}))
            kind = "uploaded"
        elif drawn:
            image = _png(drawn)
            if image is None:
                return self._render(token, await run_in_threadpool(
                    self._error_view, pid, {"signature": _("The drawn signature could not be read. Draw it again, "
                                                           "or type your name.")}))
            kind = "drawn"
        elif not typed:
            return self._render(token, await run_in_threadpool(
                self._error_view, pid, {"signature": _("Draw your signature or type your full name.")}))
        else:
            image = await run_in_threadpool(typed_signature_png, typed)
        entered = await run_in_threadpool(self._check_fields, pid, form, lang)
        if isinstance(entered, View):
            return self._render(token, entered)
        if self.signer is None:
            return self._render(token, await run_in_threadpool(
                self._error_view, pid, {}, _("Signing is not available on this server right now."), 503))
        evidence = self._evidence(pid)
        identity = ceremony.SignerIdentity(name=me.name, email=me.email, role=me.role, method=evidence[0],
                                           evidence=evidence[1])
        try:
            await ceremony.sign(lambda: DB(self.db), self.blobs, self.signer, pid, identity, image=image,
                                image_kind=kind, verify_url=f"{self.public_url.rstrip('/')}/verify",
                                notifier=self.notifier, request=req, fields=entered or None)
        except (EnvelopeError, TransitionError) as exc:
            return self._render(token, await run_in_threadpool(self._error_view, pid, {}, problem_text(exc), 409))
        if self.pades is not None:
            await self._seal_if_complete(me.envelope_id)
        return RedirectResponse(f"/sign/{token}", status_code=303)

    async def _pay(self, token: str, pid: str, request: Request, req: envelopes.Request) -> Response:
        """Off to the provider's hosted checkout (the open one, or a new one); never marks anything paid."""
        if self.payments is None:
            return self._render(token, await run_in_threadpool(
                self._error_view, pid, {}, _("Payment is not configured on this server, so this step cannot be "
                                             "completed yet. Contact the sender."), 503))
        lang = await run_in_threadpool(lambda: self._error_view(pid, {}, None, 200).lang)
        base = f"{(self.public_url or str(request.base_url)).rstrip('/')}/sign/{token}"
        try:
            started = await payment.start_checkout(lambda: DB(self.db), self.payments, pid,
                                                   success_url=f"{base}?pay=done", cancel_url=f"{base}?pay=back",
                                                   locale=lang, request=req)
        except (EnvelopeError, TransitionError) as exc:
            return self._render(token, await run_in_threadpool(self._error_view, pid, {}, str(exc), 409))
        except PaymentError:
            return self._render(token, await run_in_threadpool(
                self._error_view, pid, {}, _("The payment service did not answer. Nothing was charged; try again "
                                             "in a moment."), 502))
        if started.url is None:
            return RedirectResponse(f"/sign/{token}?pay=done", status_code=303)
        return RedirectResponse(started.url, status_code=303)

    async def _seal_if_complete(self, envelope_id: str) -> None:
        """The last signature completes the envelope: seal it now (a failure leaves it pending, retried by
        `sealing.seal_pending` on the next completion page view or the scheduler)."""
        from signing.sealing import seal_pending

        def status() -> tuple[str, str]:
            with DB(self.db) as db:
                envelope = db.get(Envelope, envelope_id)
                return (envelope.status, envelope.seal_status) if envelope else ("", "")

        if await run_in_threadpool(status) == ("completed", "pending"):
            await seal_pending(lambda: DB(self.db), self.blobs, self.pades, envelope_id)

    def _error_view(self, pid: str, errors: dict[str, str], problem: str | None = None, status: int = 422) -> View:
        with DB(self.db) as db:
            return self._fail(db, pid, errors, problem, status)

    def _evidence(self, pid: str) -> tuple[str, dict[str, Any]]:
        from signing import audit

        with DB(self.db) as db:
            me = db.get(Participant, pid)
            assert me is not None
            for event in reversed(audit.events(db, me.envelope_id)):
                if event.actor == pid and event.action == "identified":
                    detail = dict(event.detail)
                    return str(detail.pop("method", "link")), detail
        return "link", {}


def _phone_hint(phone: str | None) -> str:
    """The mobile number as the page shows it: its last three digits."""
    digits = [c for c in phone or "" if c.isdigit()]
    return "".join(digits[-3:]) if len(digits) > 3 else ""


def _png(data_url: str) -> bytes | None:
    """A drawn signature: a PNG data URL of bounded size, checked by its magic bytes."""
    prefix = "data:image/png;base64,"
    if not data_url.startswith(prefix) or len(data_url) > MAX_IMAGE * 4 // 3 + len(prefix) + 4:
        return None
    try:
        raw = base64.b64decode(data_url[len(prefix):], validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw if raw.startswith(PNG) and len(raw) <= MAX_IMAGE else None
