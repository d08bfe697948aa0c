"""Outbox → worker → signed webhooks against a real receiver on loopback, with a controlled clock:
signatures a receiver checks with the documented scheme only, rotation, a receiver down for ten
minutes that then gets everything in sequence order, at-least-once with the same event id,
automatic disable with an alert to the firm's admins, SSRF refusals, the log, resend and test."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine
from sqlmodel import Session as DB
from sqlmodel import select
from webhook_receiver import Receiver, documented_verify

from integrations import webhooks
from integrations.webhooks import Alert, WebhookConsumer, WebhookError
from jobs.clock import ManualClock
from jobs.worker import Worker
from store import outbox
from store.models import Delivery, Staff, WebhookEndpoint

T0 = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)


def emit(engine: Engine, firm_id: int, kind: str, agreement: str, now: dt.datetime) -> str:
    with DB(engine) as db:
        event_id = outbox.emit(db, firm_id, kind, agreement, {"session_id": agreement}, now=now)
        db.commit()
    return event_id


def endpoint(engine: Engine, firm_id: int, url: str, events: list[str] | None = None) -> tuple[int, str]:
    with DB(engine) as db:
        webhooks.set_allow_private(db, firm_id, True)  # the receiver is on loopback
        ep, secret = webhooks.add(db, firm_id, url, events)
        assert ep.id is not None
        return ep.id, secret


def drain(worker: Worker, clock: ManualClock, step: float, until: dt.datetime) -> None:
    while clock.now() < until:
        worker.run_once()
        clock.advance(step)


def test_signed_delivery_verifies_with_the_documented_scheme_and_rotation(db_engine: Engine, firm_id: int) -> None:
    clock = ManualClock(T0)
    receiver = Receiver(clock=clock).start()
    try:
        ep_id, secret = endpoint(db_engine, firm_id, receiver.url, ["envelope.*"])
        receiver.secret = secret
        worker = Worker(db_engine, [WebhookConsumer()], clock=clock)
        first = emit(db_engine, firm_id, outbox.ENVELOPE_SENT, "agr-1", clock.now())
        emit(db_engine, firm_id, outbox.SESSION_STARTED, "agr-1", clock.now())  # filtered out
        assert worker.run_once() == 1
        assert receiver.ids() == [first] and receiver.bad_signatures == 0
        body = receiver.accepted[0]
        assert body["type"] == "envelope.sent" and body["agreement_id"] == "agr-1" and body["seq"] == 1

        # Rotation: the new secret and the old one both sign until the old one expires.
        with DB(db_engine) as db:
            new = webhooks.rotate(db, firm_id, ep_id, keep_old=dt.timedelta(hours=1), now=clock.now())
        receiver.secret = new
        second = emit(db_engine, firm_id, outbox.ENVELOPE_VIEWED, "agr-1", clock.now())
        worker.run_once()
        receiver.secret = secret
        clock.advance(60)
        third = emit(db_engine, firm_id, outbox.ENVELOPE_SIGNED, "agr-1", clock.now())
        worker.run_once()
        assert receiver.ids() == [first, second, third]  # old and new secret both verify during the overlap
        clock.advance(3600)
        emit(db_engine, firm_id, outbox.ENVELOPE_COMPLETED, "agr-1", clock.now())
        worker.run_once()
        assert receiver.bad_signatures == 1  # the old secret no longer signs after its hour
        # A replayed delivery is refused by the window: the same body and header 10 minutes later.
        with DB(db_engine) as db:
            sent = webhooks.deliveries(db, firm_id, ep_id)
        assert all(a.request["headers"]["Accord-Signature"].endswith("v1=…") for _d, _e, att in sent for a in att)
    finally:
        receiver.stop()


def test_documented_check_refuses_old_timestamps_and_other_secrets() -> None:
    from integrations.signature import header

    body = b'{"id":"evt_1"}'
    value = header(["s1", "s2"], 1_000_000, body)
    assert documented_verify("s1", value, body, 1_000_100) and documented_verify("s2", value, body, 1_000_100)
    assert not documented_verify("s3", value, body, 1_000_100)
    assert not documented_verify("s1", value, body, 1_000_000 + 301)
    assert not documented_verify("s1", value, body + b" ", 1_000_100)


def test_receiver_down_ten_minutes_gets_everything_in_order(db_engine: Engine, firm_id: int) -> None:
    clock = ManualClock(T0)
    receiver = Receiver(clock=clock).start()
    port = receiver.port
    ep_id, secret = endpoint(db_engine, firm_id, receiver.url)
    receiver.secret = secret
    worker = Worker(db_engine, [WebhookConsumer()], clock=clock)
    receiver.stop()  # down: connections are refused
    emitted: dict[str, list[str]] = {"agr-a": [], "agr-b": []}
    try:
        for n in range(12):  # events keep coming while it is down, interleaved across two agreements
            agreement = "agr-a" if n % 3 else "agr-b"
            emitted[agreement].append(emit(db_engine, firm_id, outbox.ENVELOPE_VIEWED, agreement, clock.now()))
            worker.run_once()
            clock.advance(50)
        assert clock.now() - T0 == dt.timedelta(minutes=10)
        with DB(db_engine) as db:
            failed = sum(len(att) for _d, _e, att in webhooks.deliveries(db, firm_id, ep_id))
            assert failed >= 2 and db.exec(select(Delivery).where(Delivery.status == "delivered")).first() is None
        receiver = Receiver(secret, port=port, clock=clock).start()  # back on the same port
        receiver.fail_next = 1  # it records the first event but answers 500: redelivered, same id
        drain(worker, clock, 60, clock.now() + dt.timedelta(hours=2))
        ids = receiver.ids()
        assert set(ids) == set(emitted["agr-a"]) | set(emitted["agr-b"])  # none lost
        assert len(ids) == 13 and len(set(ids)) == 12  # one duplicate, with the same event id
        for agreement, expected in emitted.items():  # in sequence order per agreement
            got = list(dict.fromkeys(a["id"] for a in receiver.accepted if a["agreement_id"] == agreement))
            assert got == expected
            seqs = [a["seq"] for a in receiver.accepted if a["agreement_id"] == agreement]
            assert sorted(set(seqs)) == list(range(1, len(expected) + 1))
        with DB(db_engine) as db:
            assert {d.status for d in db.exec(select(Delivery)).all()} == {"delivered"}
            ep = db.get(WebhookEndpoint, ep_id)
            assert ep is not None and ep.active and ep.consecutive_failures == 0
    finally:
        receiver.stop()


def test_persistent_failure_disables_the_endpoint_and_alerts_admins(db_engine: Engine, firm_id: int) -> None:
    clock = ManualClock(T0)
    receiver = Receiver(clock=clock).start()
    alerts: list[Alert] = []
    try:
        ep_id, secret = endpoint(db_engine, firm_id, receiver.url)
        receiver.secret = "not-the-secret"  # every delivery is answered 400
        with DB(db_engine) as db:
            db.add(Staff(firm_id=firm_id, email="owner@acme.test", name="Owner", role="owner", password_hash="x"))
            db.add(Staff(firm_id=firm_id, email="agent@acme.test", name="Agent", role="agent", password_hash="x"))
            db.commit()
        worker = Worker(db_engine, [WebhookConsumer(alert=alerts.append)], clock=clock)
        emit(db_engine, firm_id, outbox.SESSION_STARTED, "agr-1", clock.now())
        drain(worker, clock, 600, T0 + dt.timedelta(days=2, hours=23))
        with DB(db_engine) as db:
            ep = db.get(WebhookEndpoint, ep_id)
            assert ep is not None and ep.active and ep.consecutive_failures >= 10  # not yet: under 3 days
        assert alerts == []
        drain(worker, clock, 600, T0 + dt.timedelta(days=3, hours=2))
        with DB(db_engine) as db:
            ep = db.get(WebhookEndpoint, ep_id)
            assert ep is not None and not ep.active and "automatically" in (ep.disabled_reason or "")
        assert len(alerts) == 1 and alerts[0].to == [("Owner", "owner@acme.test")]
        assert "Webhook" in alerts[0].subject and "accord webhook enable" in alerts[0].body
        # Disabled: nothing more is attempted; enabling and resending delivers it.
        made = worker.run_once()
        assert made == 0
        receiver.secret = secret
        with DB(db_engine) as db:
            webhooks.set_active(db, firm_id, ep_id, True)
            [(delivery, _event, attempts)] = webhooks.deliveries(db, firm_id, ep_id)
            assert delivery.status == "failed" and attempts[-1].response_status == 400
            assert attempts[-1].request["url"] == receiver.url and attempts[-1].response_body is not None
            webhooks.resend(db, firm_id, delivery.id or 0, now=clock.now())
        worker.run_once()
        assert len(receiver.ids()) == 1
    finally:
        receiver.stop()


def test_private_targets_are_refused_unless_allowed(db_engine: Engine, firm_id: int) -> None:
    with DB(db_engine) as db:
        for url in ("http://127.0.0.1:9/x", "http://localhost:9/x", "http://10.0.0.5/x", "http://169.254.169.254/",
                    "http://[::1]/x", "http://[::ffff:127.0.0.1]/x", "ftp://example.com/x", "http://u:p@127.0.0.1/"):
            with pytest.raises(WebhookError):
                webhooks.add(db, firm_id, url)
        with pytest.raises(WebhookError, match="matches no event type"):
            webhooks.set_allow_private(db, firm_id, True)
            webhooks.add(db, firm_id, "http://127.0.0.1:9/x", ["envelope.sgned"])
        ep, _secret = webhooks.add(db, firm_id, "http://127.0.0.1:9/x")
        # An allowed endpoint whose firm later forbids private targets: the call is refused, logged.
        webhooks.set_allow_private(db, firm_id, False)
        outcome = webhooks.send_test(db, firm_id, ep.id or 0)
        assert not outcome.ok and (outcome.error or "").startswith("refused")


def test_send_test_event_and_firm_isolation(db_engine: Engine, firm_id: int) -> None:
    from store.sessions import ensure_firm

    receiver = Receiver().start()
    try:
        ep_id, secret = endpoint(db_engine, firm_id, receiver.url)
        receiver.secret = secret
        with DB(db_engine) as db:
            outcome = webhooks.send_test(db, firm_id, ep_id)
            assert outcome.ok and outcome.status == 200
            assert receiver.accepted[-1]["type"] == "webhook.test"
            other = ensure_firm(db, "other", "Other firm")
            with pytest.raises(WebhookError):
                webhooks.send_test(db, other.id or 0, ep_id)
            with pytest.raises(WebhookError):
                webhooks.deliveries(db, other.id or 0, ep_id)
            assert webhooks.endpoints(db, other.id or 0) == []
        # Another firm's events never reach this firm's endpoint.
        worker = Worker(db_engine, [WebhookConsumer()])
        with DB(db_engine) as db:
            other_id = ensure_firm(db, "other", "Other firm").id or 0
        emit(db_engine, other_id, outbox.SESSION_STARTED, "agr-x", dt.datetime.now(dt.UTC))
        worker.run_once()
        assert [a["type"] for a in receiver.accepted] == ["webhook.test"]
    finally:
        receiver.stop()


def test_redirects_are_never_followed(db_engine: Engine, firm_id: int) -> None:
    target, bouncer = Receiver().start(), Receiver().start()
    try:
        ep_id, secret = endpoint(db_engine, firm_id, bouncer.url)
        target.secret = bouncer.secret = secret
        bouncer.redirect_to = "http://169.254.169.254/latest/meta-data/"
        with DB(db_engine) as db:
            outcome = webhooks.send_test(db, firm_id, ep_id)
        assert not outcome.ok and outcome.status == 302 and outcome.error == "HTTP 302"
        bouncer.redirect_to = target.url
        with DB(db_engine) as db:
            assert webhooks.send_test(db, firm_id, ep_id).status == 302
        assert target.arrived == 0  # the redirect target was never called
    finally:
        target.stop()
        bouncer.stop()


def test_a_consumer_failing_on_one_event_does_not_hold_back_the_others(db_engine: Engine, firm_id: int) -> None:
    class Picky(WebhookConsumer):
        def targets(self, db: DB, event: object) -> list[tuple[int | None, int | None]]:
            if getattr(event, "agreement_id", "") == "poison":
                raise RuntimeError("cannot plan this one")
            return super().targets(db, event)  # type: ignore[arg-type]

    clock = ManualClock(T0)
    receiver = Receiver(clock=clock).start()
    try:
        _ep_id, receiver.secret = endpoint(db_engine, firm_id, receiver.url)
        worker = Worker(db_engine, [Picky()], clock=clock)
        emit(db_engine, firm_id, outbox.SESSION_STARTED, "poison", clock.now())
        good = emit(db_engine, firm_id, outbox.SESSION_STARTED, "fine", clock.now())
        worker.run_once()
        assert receiver.ids() == [good]
        with DB(db_engine) as db:
            stuck = db.exec(select(outbox.OutboxEvent).where(outbox.OutboxEvent.agreement_id == "poison")).one()
            assert stuck.dispatched_at is None  # left for a later pass, not lost
    finally:
        receiver.stop()
