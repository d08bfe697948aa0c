"""The payment provider's webhook: `POST /payments/stripe/webhook`.

The body is verified with the provider's signature (`stripe.Webhook.construct_event` with
`ACCORD_STRIPE_WEBHOOK_SECRET`) before anything is read from it: a bad signature answers 400 and
changes nothing. A verified event is applied once (`signing.payment.apply_event`: the event id is
kept, redeliveries and out-of-order events are no-ops) and answered 200, also when it is ignored
(an event type Accord does not use): Stripe retries anything else for days. An event that completes
the envelope seals it right away (as the last signature would).

Logs carry the event type and the outcome only: never the payload (it holds names and e-mails).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import Engine
from sqlmodel import Session as DB
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from payments import PaymentProvider, SignatureError
from signing import payment
from signing.envelopes import Notifier

log = logging.getLogger("accord.web.payments")
MAX_BODY = 512 * 1024  # Stripe's events are a few kB


class PaymentWebhook:
    def __init__(self, db: Engine, provider: PaymentProvider | None, *, notifier: Notifier | None = None,
                 after: Callable[[str], Awaitable[None]] | None = None) -> None:
        self.db = db
        self.provider = provider
        self.notifier = notifier
        self.after = after  # called with the envelope id an applied event touched (sealing)

    def routes(self) -> list[BaseRoute]:
        return [Route("/payments/stripe/webhook", self.receive, methods=["POST"])]

    async def receive(self, request: Request) -> Response:
        if self.provider is None:
            return JSONResponse({"error": "payment is not configured on this server"}, status_code=503)
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return JSONResponse({"error": "too large"}, status_code=413)
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"error": "too large"}, status_code=413)
        try:
            event = self.provider.verify_event(body, request.headers.get("stripe-signature", ""))
        except SignatureError:
            log.warning("payment webhook refused: bad signature")
            return JSONResponse({"error": "bad signature"}, status_code=400)
        provider = self.provider.name

        def work() -> tuple[str, str | None]:
            with DB(self.db) as db:
                return payment.apply_event(db, provider, event, self.notifier)

        outcome, envelope_id = await run_in_threadpool(work)
        log.info("payment webhook: %s -> %s", event.type, outcome)
        if outcome == "paid" and envelope_id and self.after is not None:
            await self.after(envelope_id)
        return JSONResponse({"received": True, "outcome": outcome})
