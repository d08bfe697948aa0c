"""A firm's outbound webhooks: endpoints with an event filter and rotating secrets, the consumer
the worker delivers through, endpoint health (automatic disable with an alert to the firm's
owners and admins), the delivery log, resend and the test event.

These are domain functions: the CLI (`accord webhook …`) and the staff console's webhook pages
(`web/console_hooks.py`) call the same ones (its buttons "resend" and "send test event" are
`resend` and `send_test_logged`).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import logging
import secrets as pysecrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_
from sqlmodel import Session as DB
from sqlmodel import col, select

from integrations import http, signature, targets
from jobs.worker import Outcome, aware
from store import outbox, secretbox
from store.models import (
    Delivery,
    DeliveryAttempt,
    Firm,
    IntegrationSettings,
    OutboxEvent,
    Staff,
    WebhookEndpoint,
    WebhookSecret,
    utcnow,
)

log = logging.getLogger("accord.integrations.webhooks")

DISABLE_AFTER = dt.timedelta(days=3)  # failing with no success for this long …
DISABLE_MIN_FAILURES = 10  # … and at least this many attempts in a row: disabled
USER_AGENT = "Accord-Webhooks/1"


class WebhookError(Exception):
    """The request cannot be done (message safe to show)."""


def allows_private(db: DB, firm_id: int) -> bool:
    row = db.get(IntegrationSettings, firm_id)
    return bool(row and row.allow_private_targets)


def set_allow_private(db: DB, firm_id: int, allow: bool) -> None:
    row = db.get(IntegrationSettings, firm_id) or IntegrationSettings(firm_id=firm_id)
    row.allow_private_targets = allow
    db.add(row)
    db.commit()


def new_secret() -> str:
    return f"whsec_{pysecrets.token_urlsafe(32)}"


def _check_events(events: list[str]) -> list[str]:
    known = (*outbox.EVENT_TYPES, outbox.TEST_EVENT)
    for pattern in events:
        if not any(fnmatch.fnmatchcase(t, pattern) for t in known):
            raise WebhookError(f"the filter {pattern!r} matches no event type (known: {', '.join(known)})")
    return events


def check_events(events: list[str]) -> list[str]:
    """The event filter, or `WebhookError` naming the pattern that matches no event type."""
    return _check_events(events)


def add(db: DB, firm_id: int, url: str, events: list[str] | None = None, description: str = "") -> tuple[
        WebhookEndpoint, str]:
    """A new endpoint and its first secret (returned once: show it to the firm)."""
    try:
        targets.check(url, allow_private=allows_private(db, firm_id))
    except targets.TargetRefused as exc:
        raise WebhookError(str(exc)) from exc
    endpoint = WebhookEndpoint(firm_id=firm_id, url=url, events=_check_events(events or ["*"]),
                               description=description)
    db.add(endpoint)
    db.flush()
    secret = new_secret()
    db.add(WebhookSecret(endpoint_id=endpoint.id or 0, sealed=secretbox.seal(secret)))
    db.commit()
    db.refresh(endpoint)
    return endpoint, secret


def endpoints(db: DB, firm_id: int) -> list[WebhookEndpoint]:
    return list(db.exec(select(WebhookEndpoint).where(WebhookEndpoint.firm_id == firm_id)
                        .order_by(col(WebhookEndpoint.id))).all())


def endpoint(db: DB, firm_id: int, endpoint_id: int) -> WebhookEndpoint:
    """The firm's endpoint (another firm's id is "not found", never shown)."""
    found = db.get(WebhookEndpoint, endpoint_id)
    if found is None or found.firm_id != firm_id:
        raise WebhookError(f"no webhook {endpoint_id}")
    return found


def rotate(db: DB, firm_id: int, endpoint_id: int, keep_old: dt.timedelta = dt.timedelta(hours=24),
           now: dt.datetime | None = None) -> str:
    """A new secret; the current ones keep signing for `keep_old`, so receivers can switch."""
    now = now or utcnow()
    found = endpoint(db, firm_id, endpoint_id)
    for old in active_secrets(db, found.id or 0, now):
        if old.expires_at is None or aware(old.expires_at) > now + keep_old:
            old.expires_at = now + keep_old
            db.add(old)
    secret = new_secret()
    db.add(WebhookSecret(endpoint_id=found.id or 0, sealed=secretbox.seal(secret), created_at=now))
    db.commit()
    return secret


def active_secrets(db: DB, endpoint_id: int, now: dt.datetime) -> list[WebhookSecret]:
    rows = db.exec(select(WebhookSecret).where(WebhookSecret.endpoint_id == endpoint_id)
                   .order_by(col(WebhookSecret.id))).all()
    return [s for s in rows if s.expires_at is None or aware(s.expires_at) > now]


def secret_of(row: WebhookSecret) -> str:
    """The plain secret of a stored row (`SecretBoxError` if the configured keys cannot open it)."""
    return secretbox.unseal(row.sealed)


def reseal_all(db: DB) -> int:
    """Re-encrypt every stored signing secret under the first key of the key ring (key rotation;
    a value left in plain text is encrypted). All or nothing: one that cannot be opened raises
    `SecretBoxError` and nothing is written. Returns how many rows were rewritten."""
    ring = secretbox.current()
    rows = list(db.exec(select(WebhookSecret).order_by(col(WebhookSecret.id))).all())
    try:
        for row in rows:
            row.sealed = ring.reseal(row.sealed)
            db.add(row)
    except secretbox.SecretBoxError:
        db.rollback()
        raise
    db.commit()
    return len(rows)


def set_active(db: DB, firm_id: int, endpoint_id: int, active: bool) -> WebhookEndpoint:
    found = endpoint(db, firm_id, endpoint_id)
    found.active = active
    if active:
        found.disabled_reason, found.failing_since, found.consecutive_failures = None, None, 0
    else:
        found.disabled_reason = "disabled by the firm"
    db.add(found)
    db.commit()
    return found


def matches(patterns: list[str], event_type: str) -> bool:
    return any(fnmatch.fnmatchcase(event_type, p) for p in patterns)


def payload(event: OutboxEvent) -> dict[str, Any]:
    """The JSON body of a delivery (documented in docs/webhooks.md); a logged test event keeps the
    test's shape (no agreement, seq 0) when it is resent."""
    test = event.type == outbox.TEST_EVENT
    return {"id": event.event_id, "type": event.type, "created": aware(event.created_at).isoformat(),
            "agreement_id": None if test else event.agreement_id, "seq": 0 if test else event.seq,
            "data": event.data}


def body_bytes(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def post_signed(db: DB, ep: WebhookEndpoint, data: dict[str, Any], now: dt.datetime) -> Outcome:
    """POST `data` to the endpoint, signed by every active secret; the outcome for the log."""
    body = body_bytes(data)
    stamp = int(now.timestamp())
    try:
        keys = [secret_of(s) for s in active_secrets(db, ep.id or 0, now)]
    except secretbox.SecretBoxError as exc:  # a key-ring mistake: retried, so fixing the keys delivers it
        log.error("webhook not signed: %s", exc)
        return Outcome(ok=False, request={"method": "POST", "url": ep.url}, error=f"not sent: {exc}")
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, "Accord-Event-Id": str(data["id"]),
               "Accord-Event-Type": str(data["type"]), signature.HEADER: signature.header(keys, stamp, body)}
    logged = {k: v for k, v in headers.items() if k != signature.HEADER}
    logged[signature.HEADER] = f"t={stamp},v1=…"  # the log never holds a usable signature
    request = {"method": "POST", "url": ep.url, "headers": logged, "body": body.decode("utf-8")}
    result = http.call("POST", ep.url, allow_private=allows_private(db, ep.firm_id), headers=headers, content=body)
    return Outcome(ok=result.ok, request=request, status=result.status, body=result.body or None, error=result.error,
                   duration_ms=result.duration_ms)


@dataclass
class Alert:
    to: list[tuple[str, str]]  # (name, e-mail)
    subject: str
    body: str


class WebhookConsumer:
    """`jobs.worker.Consumer` for the firm's webhook endpoints."""

    kind = "webhook"

    def __init__(self, alert: Any = None) -> None:
        self.alert = alert  # callable(Alert): e-mails the firm's admins when an endpoint is disabled

    def targets(self, db: DB, event: OutboxEvent) -> list[tuple[int | None, int | None]]:
        rows = db.exec(select(WebhookEndpoint).where(WebhookEndpoint.firm_id == event.firm_id,
                                                     col(WebhookEndpoint.active).is_(True))).all()
        return [(e.id, None) for e in rows if matches(e.events, event.type)]

    def blocked(self, db: DB) -> set[int]:
        return {i for i in db.exec(select(WebhookEndpoint.id).where(col(WebhookEndpoint.active).is_(False))).all()
                if i is not None}

    def deliver(self, db: DB, delivery: Delivery, event: OutboxEvent, now: dt.datetime) -> Outcome:
        ep = db.get(WebhookEndpoint, delivery.endpoint_id)
        if ep is None:
            return Outcome(ok=False, error="the endpoint was deleted", retry=False)
        if not ep.active:
            return Outcome(ok=False, skip=True)
        return post_signed(db, ep, payload(event), now)

    def recorded(self, db: DB, delivery: Delivery, outcome: Outcome, now: dt.datetime) -> None:
        ep = db.get(WebhookEndpoint, delivery.endpoint_id)
        if ep is None:
            return
        if outcome.ok:
            ep.failing_since, ep.consecutive_failures = None, 0
        else:
            ep.failing_since = ep.failing_since or now
            ep.consecutive_failures += 1
            if (ep.active and ep.consecutive_failures >= DISABLE_MIN_FAILURES
                    and now - aware(ep.failing_since) >= DISABLE_AFTER):
                ep.active = False
                ep.disabled_reason = (f"disabled automatically on {now:%Y-%m-%d %H:%M} UTC after "
                                      f"{ep.consecutive_failures} failed deliveries since "
                                      f"{aware(ep.failing_since):%Y-%m-%d %H:%M} UTC")
                log.warning("webhook endpoint disabled after persistent failure")
                self._alert(db, ep)
        db.add(ep)

    def _alert(self, db: DB, ep: WebhookEndpoint) -> None:
        if self.alert is None:
            return
        admins = db.exec(select(Staff).where(Staff.firm_id == ep.firm_id, col(Staff.role).in_(("owner", "admin")),
                                             col(Staff.active).is_(True))).all()
        firm = db.get(Firm, ep.firm_id)
        if not admins:
            return
        subject = "Webhook disabled / Webhook đã bị tắt"
        body = (f"Accord stopped sending events to {ep.url} ({firm.name if firm else ''}): "
                f"{ep.disabled_reason}.\nFix the receiver, then enable it again with "
                f"`accord webhook enable {ep.id}`; events are kept in the delivery log and can be resent.\n\n"
                f"Accord đã ngừng gửi sự kiện tới {ep.url}: điểm nhận liên tục lỗi trong hơn 3 ngày. "
                f"Hãy sửa điểm nhận rồi bật lại bằng `accord webhook enable {ep.id}`; các sự kiện vẫn được lưu "
                f"trong nhật ký gửi và có thể gửi lại.")
        try:
            self.alert(Alert(to=[(a.name, a.email) for a in admins], subject=subject, body=body))
        except Exception as exc:  # the disable stands; the alert failure is logged
            log.error("webhook alert not sent: %s", type(exc).__name__)


# -- the log, resend and test ------------------------------------------------------------------


def deliveries(db: DB, firm_id: int, endpoint_id: int, limit: int = 50) -> list[tuple[Delivery, OutboxEvent,
                                                                                       list[DeliveryAttempt]]]:
    endpoint(db, firm_id, endpoint_id)
    rows = db.exec(select(Delivery).where(Delivery.endpoint_id == endpoint_id)
                   .order_by(col(Delivery.id).desc()).limit(limit)).all()
    out = []
    for d in rows:
        event = db.get(OutboxEvent, d.outbox_id)
        attempts = list(db.exec(select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == d.id)
                                .order_by(col(DeliveryAttempt.id))).all())
        assert event is not None
        out.append((d, event, attempts))
    return out


def resend(db: DB, firm_id: int, delivery_id: int, now: dt.datetime | None = None) -> Delivery:
    """Queue a delivery again now (a failed one, or a delivered one the receiver lost)."""
    d = db.get(Delivery, delivery_id)
    if d is None or d.firm_id != firm_id:
        raise WebhookError(f"no delivery {delivery_id}")
    now = now or utcnow()
    d.status, d.next_attempt_at, d.first_attempt_at, d.locked_until = "pending", now, None, None
    db.add(d)
    db.commit()
    db.refresh(d)
    return d


def send_test(db: DB, firm_id: int, endpoint_id: int, now: dt.datetime | None = None) -> Outcome:
    """Send a `webhook.test` event right away (not through the outbox) and return what happened."""
    now = now or utcnow()
    ep = endpoint(db, firm_id, endpoint_id)
    data = {"id": outbox.new_event_id(), "type": outbox.TEST_EVENT, "created": now.isoformat(),
            "agreement_id": None, "seq": 0, "data": {"endpoint_id": ep.id}}
    return post_signed(db, ep, data, now)


def send_test_logged(db: DB, firm_id: int, endpoint_id: int, now: dt.datetime | None = None) -> tuple[
        Outcome, Delivery]:
    """The console's "send test event": `send_test`, and the attempt kept in the endpoint's delivery
    log (request and response) so it can be looked at and resent like any delivery. The event row
    is born dispatched (the worker never fans it out to other endpoints) under an agreement id of
    its own, so it never holds up a real agreement's sequence; endpoint health is not touched."""
    now = now or utcnow()
    ep = endpoint(db, firm_id, endpoint_id)
    event_id = outbox.new_event_id()
    event = OutboxEvent(event_id=event_id, firm_id=firm_id, type=outbox.TEST_EVENT, agreement_id=f"test:{event_id}",
                        seq=1, data={"endpoint_id": ep.id}, created_at=now, dispatched_at=now)
    db.add(event)
    db.flush()
    outcome = post_signed(db, ep, payload(event), now)
    delivery = Delivery(firm_id=firm_id, outbox_id=event.id or 0, kind=WebhookConsumer.kind, endpoint_id=ep.id,
                        agreement_id=event.agreement_id, seq=1, status="delivered" if outcome.ok else "failed",
                        attempts=1, next_attempt_at=now, first_attempt_at=now,
                        delivered_at=now if outcome.ok else None, last_error=None if outcome.ok else outcome.error,
                        created_at=now)
    db.add(delivery)
    db.flush()
    db.add(DeliveryAttempt(delivery_id=delivery.id or 0, at=now, request=outcome.request,
                           response_status=outcome.status, response_body=outcome.body, error=outcome.error,
                           ok=outcome.ok, duration_ms=outcome.duration_ms))
    db.commit()
    db.refresh(delivery)
    return outcome, delivery


def update(db: DB, firm_id: int, endpoint_id: int, events: list[str], description: str) -> WebhookEndpoint:
    """Change the endpoint's event filter and description (the URL stays: add a new endpoint)."""
    found = endpoint(db, firm_id, endpoint_id)
    found.events = _check_events(events or ["*"])
    found.description = description
    db.add(found)
    db.commit()
    db.refresh(found)
    return found


def delivery(db: DB, firm_id: int, delivery_id: int) -> tuple[Delivery, OutboxEvent, list[DeliveryAttempt]]:
    """One delivery of the firm with its event and every attempt (another firm's is "not found")."""
    d = db.get(Delivery, delivery_id)
    if d is None or d.firm_id != firm_id:
        raise WebhookError(f"no delivery {delivery_id}")
    event = db.get(OutboxEvent, d.outbox_id)
    assert event is not None
    attempts = list(db.exec(select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == d.id)
                            .order_by(col(DeliveryAttempt.id))).all())
    return d, event, attempts


def failing(db: DB, firm_id: int, limit: int = 100) -> list[Delivery]:
    """The firm's deliveries that need a person: failed, not configured, or retrying after an
    error (webhooks and `on completion` actions alike), newest first."""
    return list(db.exec(select(Delivery).where(Delivery.firm_id == firm_id, _needs_a_person())
                        .order_by(col(Delivery.id).desc()).limit(limit)).all())


def failing_count(db: DB, firm_id: int) -> int:
    """How many deliveries `failing` would list (the console's nav badge)."""
    return int(db.exec(select(func.count()).select_from(Delivery).where(Delivery.firm_id == firm_id,
                                                                        _needs_a_person())).one())


def _needs_a_person() -> ColumnElement[bool]:
    return or_(col(Delivery.status).in_(("failed", "unconfigured")),
               and_(col(Delivery.status) == "pending", col(Delivery.attempts) > 0))


def health(ep: WebhookEndpoint) -> str:
    """ok | failing (errors since `failing_since`) | disabled."""
    if not ep.active:
        return "disabled"
    return "failing" if ep.consecutive_failures else "ok"
