"""A fake Stripe Checkout for the tests (localstripe has no Checkout Sessions): it speaks Stripe's
protocol to the unmodified `stripe` SDK and takes the money through localstripe, so a payment here
is a real PaymentIntent in the peer with the card the browser typed.

    POST /v1/checkout/sessions              create (mode=payment, line_items[].price_data, success_url,
                                            cancel_url, metadata, payment_intent_data.metadata,
                                            client_reference_id); the Idempotency-Key header replays
    GET  /v1/checkout/sessions/{id}         retrieve
    POST /v1/checkout/sessions/{id}/expire  expire an open session (checkout.session.expired)
    GET  /pay/{id}, POST /pay/{id}          the hosted page: a card number; a decline shows Stripe's message
                                            and keeps the session open; success completes it, emits a signed
                                            checkout.session.completed and 303s to success_url
    POST /_config/webhooks/{name}           register a webhook (url, secret), as localstripe's route
    POST /_config/delivery                  mode=after (default: after the response, as Stripe),
                                            before (before the browser is redirected) or hold (queue)
    POST /_test/release                     deliver the held events (copies=2: each one twice)
    anything else                           proxied to localstripe (--upstream)

Signatures follow Stripe's documented scheme (t=..., v1=HMAC-SHA256(secret, "t.payload")), written
independently of the SDK: Accord's `stripe.Webhook.construct_event` accepting them is the cross-check.
Test-only: it lives under tests/ and is never shipped.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import html
import json
import re
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route


def unflatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding to a nested dict: a[b][0]=x -> {'a': {'b': ['x']}}."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value

    def lists(n: Any) -> Any:
        if isinstance(n, dict):
            n = {k: lists(v) for k, v in n.items()}
            if n and all(k.isdigit() for k in n):
                return [n[k] for k in sorted(n, key=int)]
        return n

    result: dict[str, Any] = lists(root)
    return result


def flatten(prefix: str, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in flatten(f"{prefix}[{k}]" if prefix else k, v)]
    return [(prefix, str(value))]


def sign(payload: bytes, secret: str, t: int) -> str:
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256)
    return f"t={t},v1={mac.hexdigest()}"


def error(status: int, message: str, code: str | None = None, param: str | None = None) -> JSONResponse:
    kind = "card_error" if status == 402 else "invalid_request_error"
    return JSONResponse({"error": {"type": kind, "message": message, "code": code, "param": param}},
                        status_code=status)


class Front:
    def __init__(self, upstream: str, public: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.public = public
        self.http = httpx.AsyncClient(timeout=30)
        self.sessions: dict[str, dict[str, Any]] = {}
        self.idempotency: dict[str, str] = {}
        self.webhooks: dict[str, tuple[str, str]] = {}
        self.mode = "after"
        self.held: list[bytes] = []
        self.tasks: set[asyncio.Task[None]] = set()

    # -- helpers ------------------------------------------------------------------------------

    @staticmethod
    def authorised(request: Request) -> bool:
        auth = request.headers.get("authorization", "")
        return auth.startswith("Bearer sk_test_") or auth.startswith("Basic ")

    async def deliver(self, body: bytes) -> None:
        for url, secret in list(self.webhooks.values()):
            try:
                await self.http.post(url, content=body, headers={
                    "Content-Type": "application/json; charset=utf-8",
                    "Stripe-Signature": sign(body, secret, int(time.time()))})
            except httpx.HTTPError:
                pass  # like Stripe: a failed delivery does not fail the payment

    async def emit(self, etype: str, obj: dict[str, Any]) -> None:
        event = {"id": "evt_" + secrets.token_hex(12), "object": "event", "type": etype, "api_version": None,
                 "created": int(time.time()), "livemode": False, "pending_webhooks": len(self.webhooks),
                 "request": {"id": None, "idempotency_key": None}, "data": {"object": obj}}
        body = json.dumps(event).encode()
        if self.mode == "hold":
            self.held.append(body)
        elif self.mode == "before":
            await self.deliver(body)
        else:
            task = asyncio.get_running_loop().create_task(self.deliver(body))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def upstream_call(self, method: str, path: str, data: list[tuple[str, str]] | None = None,
                            auth: str = "Bearer sk_test_fake_front") -> httpx.Response:
        return await self.http.request(method, self.upstream + path, content=urlencode(data or []).encode(),
                                       headers={"Authorization": auth,
                                                "Content-Type": "application/x-www-form-urlencoded"})

    # -- the API -------------------------------------------------------------------------------

    async def create(self, request: Request) -> Response:
        if not self.authorised(request):
            return error(401, "Invalid API Key provided")
        key = request.headers.get("idempotency-key")
        if key and key in self.idempotency:
            return JSONResponse(self.sessions[self.idempotency[key]])
        params = unflatten(list((await request.form()).multi_items()))  # type: ignore[arg-type]
        if params.get("mode") != "payment":
            return error(400, "Only mode=payment is supported by this fake", param="mode")
        if not params.get("success_url"):
            return error(400, "Missing required param: success_url.", param="success_url")
        items = params.get("line_items") or []
        try:
            amount = sum(int(i["price_data"]["unit_amount"]) * int(i.get("quantity", 1)) for i in items)
            currency = str(items[0]["price_data"]["currency"]).lower()
        except (KeyError, IndexError, TypeError, ValueError):
            return error(400, "line_items[].price_data with unit_amount and currency is required",
                         param="line_items")
        sid = "cs_test_" + secrets.token_hex(16)
        session = {"id": sid, "object": "checkout.session", "mode": "payment", "status": "open",
                   "payment_status": "unpaid", "amount_total": amount, "amount_subtotal": amount,
                   "currency": currency, "client_reference_id": params.get("client_reference_id"),
                   "customer_email": params.get("customer_email"), "metadata": params.get("metadata") or {},
                   "payment_intent": None, "success_url": params["success_url"],
                   "cancel_url": params.get("cancel_url"), "url": f"{self.public}/pay/{sid}",
                   "livemode": False, "created": int(time.time()), "locale": params.get("locale"),
                   "_pi_metadata": (params.get("payment_intent_data") or {}).get("metadata") or {},
                   "_description": (params.get("payment_intent_data") or {}).get("description") or "",
                   "_name": items[0]["price_data"].get("product_data", {}).get("name", "")}
        self.sessions[sid] = session
        if key:
            self.idempotency[key] = sid
        return JSONResponse(self.public_view(session))

    @staticmethod
    def public_view(session: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in session.items() if not k.startswith("_")}

    async def retrieve(self, request: Request) -> Response:
        if not self.authorised(request):
            return error(401, "Invalid API Key provided")
        session = self.sessions.get(request.path_params["sid"])
        if session is None:
            return error(404, "No such checkout.session", code="resource_missing", param="id")
        return JSONResponse(self.public_view(session))

    async def expire(self, request: Request) -> Response:
        if not self.authorised(request):
            return error(401, "Invalid API Key provided")
        session = self.sessions.get(request.path_params["sid"])
        if session is None:
            return error(404, "No such checkout.session", code="resource_missing", param="id")
        if session["status"] != "open":
            return error(400, "Only open sessions can be expired")
        session["status"] = "expired"
        await self.emit("checkout.session.expired", self.public_view(session))
        return JSONResponse(self.public_view(session))

    # -- the hosted page -------------------------------------------------------------------------

    def page(self, session: dict[str, Any], message: str = "", status: int = 200) -> Response:
        amount = f"{session['amount_total']} {session['currency'].upper()}"
        cancel = f'<p><a href="{html.escape(session["cancel_url"])}">Back</a></p>' if session["cancel_url"] else ""
        alert = f'<p id="card-error" role="alert">{html.escape(message)}</p>' if message else ""
        body = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Pay</title></head>
<body><main><h1>Test checkout</h1><p id="what">{html.escape(session["_name"])}</p>
<p id="amount">{html.escape(amount)}</p>{alert}
<form method="post"><label for="card">Card number</label>
<input id="card" name="card" inputmode="numeric" value="4242424242424242">
<button type="submit">Pay</button></form>{cancel}</main></body></html>"""
        return HTMLResponse(body, status_code=status)

    async def pay_page(self, request: Request) -> Response:
        session = self.sessions.get(request.path_params["sid"])
        if session is None:
            return HTMLResponse("not found", status_code=404)
        if session["status"] != "open":
            return HTMLResponse(f"<p id='closed'>This checkout is {session['status']}.</p>", status_code=410)
        return self.page(session)

    async def pay(self, request: Request) -> Response:
        session = self.sessions.get(request.path_params["sid"])
        if session is None:
            return HTMLResponse("not found", status_code=404)
        if session["status"] != "open":
            return HTMLResponse(f"<p id='closed'>This checkout is {session['status']}.</p>", status_code=410)
        card = re.sub(r"\D", "", str((await request.form()).get("card", "")))
        pm = await self.upstream_call("POST", "/v1/payment_methods", [
            ("type", "card"), ("card[number]", card), ("card[exp_month]", "12"), ("card[exp_year]", "2034"),
            ("card[cvc]", "123")])
        if pm.status_code != 200:
            return self.page(session, "Your card number is invalid.", 402)
        data = [("amount", str(session["amount_total"])), ("currency", session["currency"]),
                ("payment_method", pm.json()["id"]), ("confirm", "true")]
        metadata = {**session["_pi_metadata"], "checkout_session": session["id"]}
        data += flatten("metadata", metadata)
        # (localstripe's PaymentIntent takes no description; Stripe's would carry payment_intent_data.description)
        pi = await self.upstream_call("POST", "/v1/payment_intents", data)
        if pi.status_code == 402 or (pi.status_code == 200 and pi.json().get("status") != "succeeded"):
            return self.page(session, "Your card was declined.", 402)
        if pi.status_code != 200:
            return self.page(session, "Something went wrong. Try again.", 502)
        session.update(status="complete", payment_status="paid", payment_intent=pi.json()["id"])
        await self.emit("checkout.session.completed", self.public_view(session))
        return RedirectResponse(str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", session["id"]),
                                status_code=303)

    # -- configuration --------------------------------------------------------------------------

    async def config_webhook(self, request: Request) -> Response:
        form = await request.form()
        self.webhooks[request.path_params["name"]] = (str(form["url"]), str(form["secret"]))
        return JSONResponse({"ok": True})

    async def config_delivery(self, request: Request) -> Response:
        self.mode = str((await request.form()).get("mode", "after"))
        return JSONResponse({"mode": self.mode})

    async def release(self, request: Request) -> Response:
        copies = int(str((await request.form()).get("copies", "1")))
        held, self.held = self.held, []
        for body in held:
            for _ in range(copies):
                await self.deliver(body)
        return JSONResponse({"delivered": len(held) * copies})

    async def proxy(self, request: Request) -> Response:
        r = await self.http.request(request.method, self.upstream + request.url.path,
                                    params=request.query_params.multi_items(), content=await request.body(),
                                    headers={k: v for k, v in request.headers.items()
                                             if k.lower() not in ("host", "content-length")})
        return Response(r.content, status_code=r.status_code, media_type=r.headers.get("content-type"))

    def app(self) -> Starlette:
        every = ["GET", "POST", "DELETE"]
        return Starlette(routes=[
            Route("/v1/checkout/sessions", self.create, methods=["POST"]),
            Route("/v1/checkout/sessions/{sid}", self.retrieve, methods=["GET"]),
            Route("/v1/checkout/sessions/{sid}/expire", self.expire, methods=["POST"]),
            Route("/pay/{sid}", self.pay_page, methods=["GET"]),
            Route("/pay/{sid}", self.pay, methods=["POST"]),
            Route("/_config/webhooks/{name}", self.config_webhook, methods=["POST"]),
            Route("/_config/delivery", self.config_delivery, methods=["POST"]),
            Route("/_test/release", self.release, methods=["POST"]),
            Route("/{path:path}", self.proxy, methods=every),
        ])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    args = parser.parse_args()
    front = Front(args.upstream, f"http://127.0.0.1:{args.port}")
    uvicorn.run(front.app(), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
