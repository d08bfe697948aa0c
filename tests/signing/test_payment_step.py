"""The payment step on a real database, with the real Stripe provider against localstripe and the
fake Checkout front (processes on 127.0.0.1): when it blocks (before signing, after signing, on
completion), checkouts reused or renewed, events applied once in any order, declines recorded,
amount mismatches refused, partial and full refunds with reasons, all on an intact audit chain."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import stripe
from sqlalchemy import Engine
from sqlmodel import Session as DB
from sqlmodel import col, select
from stripe_peers import TEST_KEY, WEBHOOK_SECRET, StripePeers

from accord.aio import run_sync
from payments import ProviderEvent
from payments.stripe_checkout import StripeCheckout
from signing import audit, envelopes, payment
from signing.envelopes import EnvelopeError, Notice, PartySpec, PaymentTerms
from signing.mail import compose
from signing.pades import render_completion
from signing.sealing import completion
from store.models import OutboxEvent, Participant, Payment

T0 = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
PARTIES = [
    PartySpec("applicant", "sign", 1, "Nguyễn Văn An", "an@example.com", identity=("email_code",)),
    PartySpec("co_applicant", "sign", 1, "Trần Thị Bình", "binh@example.com", identity=("email_code",)),
    PartySpec("loan_officer", "approve", 2, "Lê Officer", "officer@example.com"),
    PartySpec("lender", "sign", 3, "Acme Lending", "lender@example.com"),
    PartySpec("records", "cc", None, "Records", "records@example.com"),
]


class Outbox(list[Notice]):
    def __call__(self, notice: Notice) -> None:
        self.append(notice)

    def take(self) -> list[tuple[str, str]]:
        out = [(n.kind, n.participant_id) for n in self]
        self.clear()
        return out


def by_role(db: DB, envelope_id: str) -> dict[str, Participant]:
    _e, people = envelopes.load(db, envelope_id)
    return {p.role: p for p in people if p.status != "delegated"}

FEE = 500_000  # VND: zero-decimal, sent to Stripe as is


@pytest.fixture(scope="module")
def peers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StripePeers]:
    with StripePeers(tmp_path_factory.mktemp("stripe")) as running:
        yield running


@pytest.fixture
def provider(peers: StripePeers) -> StripeCheckout:
    return StripeCheckout(TEST_KEY, WEBHOOK_SECRET, api_base=peers.api_base, max_network_retries=0)


def make(db: DB, firm_id: int, when: str) -> str:
    terms = PaymentTerms(FEE, "VND", "Loan application fee", "applicant", when)
    envelope = envelopes.create(db, firm_id, title="Loan agreement", language="vi", pdf_sha256="a" * 64,
                                parties=PARTIES, now=T0, payment=terms)
    envelopes.send(db, envelope.id, now=T0)
    return envelope.id


def ready(db: DB, role: str, envelope_id: str) -> str:
    p = by_role(db, envelope_id)[role]
    envelopes.opened(db, p.id, now=T0)
    envelopes.identified(db, p.id, "email_code", {"result": "verified"}, now=T0)
    if p.action == "sign":
        envelopes.consented(db, p.id, "esign-v1", now=T0)
    return p.id


def act(db: DB, role: str, envelope_id: str, outbox: Outbox | None = None) -> None:
    pid = ready(db, role, envelope_id)
    envelopes.acted(db, pid, outbox, doc_after=None, now=T0)


def pay_with(url: str, card: str) -> httpx.Response:
    return httpx.post(url, data={"card": card})


def checkout_event(provider: StripeCheckout, peers: StripePeers, checkout_id: str, etype: str,
                   event_id: str) -> ProviderEvent:
    """The event as Stripe would send it, carrying the real object read back from the peer."""
    sdk = stripe.StripeClient(TEST_KEY, base_addresses={"api": peers.api_base}, max_network_retries=0)
    obj: dict[str, Any] = sdk.v1.checkout.sessions.retrieve(checkout_id).to_dict()
    return ProviderEvent(id=event_id, type=etype, created=0, object=obj)


def intent_event(peers: StripePeers, intent_id: str, etype: str, event_id: str) -> ProviderEvent:
    sdk = stripe.StripeClient(TEST_KEY, base_addresses={"api": peers.localstripe}, max_network_retries=0)
    obj = sdk.v1.payment_intents.retrieve(intent_id).to_dict()
    return ProviderEvent(id=event_id, type=etype, created=0, object=obj)


def start(db_engine: Engine, provider: StripeCheckout, pid: str) -> payment.Started:
    return run_sync(payment.start_checkout(lambda: DB(db_engine), provider, pid, success_url="http://x/ok",
                                              cancel_url="http://x/back"))


def test_before_signing_the_payer_pays_then_signs(db: DB, db_engine: Engine, firm_id: int, peers: StripePeers,
                                                   provider: StripeCheckout) -> None:
    outbox = Outbox()
    eid = make(db, firm_id, "before signing")
    applicant = ready(db, "applicant", eid)
    row = payment.of_envelope(db, eid)
    assert row is not None and (row.status, row.amount_minor, row.currency) == ("due", FEE, "VND")
    envelope, people = envelopes.load(db, eid)
    assert payment.due_now(row, envelope, people)  # "waiting for payment"
    with pytest.raises(EnvelopeError, match="payment must be made before signing"):
        envelopes.acted(db, applicant, outbox, now=T0)
    db.rollback()

    first = start(db_engine, provider, applicant)
    assert first.url and start(db_engine, provider, applicant).checkout_id == first.checkout_id  # reused while open
    with pytest.raises(EnvelopeError):  # only the payer pays
        start(db_engine, provider, by_role(db, eid)["co_applicant"].id)

    assert pay_with(first.url, "4000000000000341").status_code == 402
    intent_id = _last_intent(peers)
    outcome = payment.apply_event(db, "stripe", intent_event(peers, intent_id, "payment_intent.payment_failed",
                                                             "evt_failed"))
    assert outcome == ("failed", eid)
    db.expire_all()
    assert payment.of_envelope(db, eid).last_error == "card_declined"  # type: ignore[union-attr]

    assert pay_with(first.url, "4242424242424242").status_code == 303
    completed = checkout_event(provider, peers, first.checkout_id, "checkout.session.completed", "evt_done")
    succeeded = intent_event(peers, completed.object["payment_intent"], "payment_intent.succeeded", "evt_pi")
    assert payment.apply_event(db, "stripe", completed) == ("paid", eid)
    assert payment.apply_event(db, "stripe", completed)[0] == "duplicate"  # the same delivery again
    assert payment.apply_event(db, "stripe", succeeded)[0] == "already paid"  # the other event for it
    late_failure = ProviderEvent("evt_late", "payment_intent.payment_failed", 0,
                                 {**succeeded.object, "last_payment_error": {"code": "card_declined"}})
    assert payment.apply_event(db, "stripe", late_failure)[0] == "already paid"  # out of order: changes nothing
    assert payment.apply_event(db, "stripe", ProviderEvent("evt_x", "customer.created", 0, {"id": "cus_1"})) == (
        "ignored", None)
    db.expire_all()
    row = payment.of_envelope(db, eid)
    assert row is not None and (row.status, row.last_error) == ("paid", None)
    assert row.payment_intent == completed.object["payment_intent"]
    chain = audit.events(db, eid)
    assert [e.action for e in chain].count("paid") == 1 and audit.verify(chain).ok
    paid = next(e for e in chain if e.action == "paid")
    assert paid.detail["amount"] == "500000 VND" and paid.detail["checkout"] == first.checkout_id

    envelopes.acted(db, applicant, outbox, now=T0)  # now the signature is allowed
    act(db, "co_applicant", eid, outbox)
    assert ("invitation", by_role(db, eid)["loan_officer"].id) in outbox.take()


def _last_intent(peers: StripePeers) -> str:
    sdk = stripe.StripeClient(TEST_KEY, base_addresses={"api": peers.localstripe}, max_network_retries=0)
    return str(sdk.v1.payment_intents.list({"limit": 1}).data[0].id)


def _paid_by_webhook(db: DB, provider: StripeCheckout, peers: StripePeers, db_engine: Engine, pid: str,
                     event_id: str) -> str:
    started = start(db_engine, provider, pid)
    assert started.url and pay_with(started.url, "4242424242424242").status_code == 303
    return payment.apply_event(db, "stripe", checkout_event(provider, peers, started.checkout_id,
                                                            "checkout.session.completed", event_id))[0]


def test_after_signing_the_next_order_waits_for_the_payment(db: DB, db_engine: Engine, firm_id: int,
                                                             peers: StripePeers, provider: StripeCheckout) -> None:
    outbox = Outbox()
    eid = make(db, firm_id, "after signing")
    applicant = ready(db, "applicant", eid)
    with pytest.raises(EnvelopeError):  # not yet: the payer signs first
        start(db_engine, provider, applicant)
    envelopes.acted(db, applicant, outbox, now=T0)
    act(db, "co_applicant", eid, outbox)
    officer = by_role(db, eid)["loan_officer"]
    assert officer.status == "waiting" and not outbox.take()  # order 2 waits for the payment
    envelope, people = envelopes.load(db, eid)
    assert payment.due_now(payment.of_envelope(db, eid), envelope, people)
    assert _paid_by_webhook(db, provider, peers, db_engine, applicant, "evt_after") == "paid"
    db.expire_all()
    assert by_role(db, eid)["loan_officer"].status == "notified"  # the payment let routing go on


def test_on_completion_the_envelope_completes_on_the_payment(db: DB, db_engine: Engine, firm_id: int,
                                                            peers: StripePeers, provider: StripeCheckout) -> None:
    eid = make(db, firm_id, "on completion")
    outbox = Outbox()
    for role in ("applicant", "co_applicant", "loan_officer", "lender"):
        act(db, role, eid, outbox)
    due = [n for n in outbox if n.kind == "payment_due"]
    assert [(n.participant_id, n.detail["amount_minor"]) for n in due] == [(by_role(db, eid)["applicant"].id, FEE)]
    envelope, people = envelopes.load(db, eid)
    payer = by_role(db, eid)["applicant"]
    for lang, amount, words in (("en", "₫500,000", "Payment due"), ("vi", "500.000\xa0₫", "Cần thanh toán")):
        envelope.language = lang
        mail = compose(due[0], envelope, payer, "http://x/sign/t")
        assert words in mail.subject and amount in mail.body and "Loan application fee" in mail.body
    db.rollback()
    envelope, people = envelopes.load(db, eid)
    assert envelope.status == "sent" and payment.due_now(payment.of_envelope(db, eid), envelope, people)
    assert _paid_by_webhook(db, provider, peers, db_engine, by_role(db, eid)["applicant"].id, "evt_end") == "paid"
    db.expire_all()
    envelope, _ = envelopes.load(db, eid)
    assert (envelope.status, envelope.seal_status) == ("completed", "pending")
    chain = audit.events(db, eid)
    actions = [e.action for e in chain]
    assert actions.index("paid") < actions.index("completed")
    # The certificate of completion shows the payment's evidence (rendered as the seal will render it).
    _envelope, people = envelopes.load(db, eid)
    row = payment.of_envelope(db, eid)
    assert row is not None and row.payment_intent
    page = render_completion(completion(envelope, people, chain, audit.verify(chain).head, row))
    if shutil.which("pdftotext"):
        text = " ".join(subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=page, capture_output=True,
                                       check=True).stdout.decode().split())
        assert "Payment" in text and "Loan application fee" in text and "500000 VND" in text
        assert row.payment_intent in text.replace(" ", "") and "Nguyễn Văn An (applicant)" in text


def test_refunds_partial_then_the_rest_with_reasons(db: DB, db_engine: Engine, firm_id: int, peers: StripePeers,
                                                    provider: StripeCheckout) -> None:
    eid = make(db, firm_id, "before signing")
    applicant = ready(db, "applicant", eid)
    factory: Callable[[], DB] = lambda: DB(db_engine)  # noqa: E731
    with pytest.raises(payment.RefundError, match="nothing to refund"):
        run_sync(payment.refund(factory, provider, eid, amount_minor=None, reason="x", staff="Lan"))
    assert _paid_by_webhook(db, provider, peers, db_engine, applicant, "evt_refund") == "paid"
    with pytest.raises(payment.RefundError, match="reason"):
        run_sync(payment.refund(factory, provider, eid, amount_minor=100, reason=" ", staff="Lan"))
    with pytest.raises(payment.RefundError, match="at most 500000 VND"):
        run_sync(payment.refund(factory, provider, eid, amount_minor=FEE + 1, reason="too much", staff="Lan"))
    part = run_sync(payment.refund(factory, provider, eid, amount_minor=200_000, reason="fee waived in part",
                                      staff="Lan"))
    assert part.status == "succeeded" and part.provider_refund_id
    rest = run_sync(payment.refund(factory, provider, eid, amount_minor=None, reason="loan refused", staff="Lan"))
    assert rest.amount_minor == 300_000
    db.expire_all()
    row = db.get(Payment, part.payment_id)
    assert row is not None and (row.status, row.refunded_minor) == ("refunded", FEE)
    sdk = stripe.StripeClient(TEST_KEY, base_addresses={"api": peers.localstripe}, max_network_retries=0)
    refunds = sdk.v1.refunds.list({"payment_intent": row.payment_intent}).data
    assert sorted(r.amount for r in refunds) == [200_000, 300_000]
    # Webhook subscribers hear of it through the outbox (payment.succeeded, then one payment.refunded per refund).
    events = db.exec(select(OutboxEvent).where(col(OutboxEvent.type).startswith("payment."))
                     .order_by(col(OutboxEvent.id))).all()
    mine = [e for e in events if e.data["envelope_id"] == eid]
    assert [(e.type, e.data["payment"]["amount_minor"]) for e in mine] == [
        ("payment.succeeded", FEE), ("payment.refunded", 200_000), ("payment.refunded", 300_000)]
    assert mine[0].data["payment"]["payment_intent"] == row.payment_intent
    assert mine[-1].data["payment"]["remaining_minor"] == 0 and "an@example.com" not in str(mine[0].data)
    chain = audit.events(db, eid)
    refunded = [e for e in chain if e.action == "refunded"]
    assert [(e.actor, e.detail["reason"], e.detail["amount"]) for e in refunded] == [
        ("staff:Lan", "fee waived in part", "200000 VND"), ("staff:Lan", "loan refused", "300000 VND")]
    assert audit.verify(chain).ok


def test_an_event_whose_amount_differs_is_not_applied(db: DB, firm_id: int) -> None:
    eid = make(db, firm_id, "before signing")
    row = payment.of_envelope(db, eid)
    assert row is not None
    forged = ProviderEvent("evt_cheap", "checkout.session.completed", 0, {
        "id": "cs_x", "object": "checkout.session", "payment_status": "paid", "amount_total": 5000,
        "currency": "vnd", "payment_intent": "pi_x", "metadata": {"accord_payment": row.id,
                                                                  "accord_envelope": eid}})
    assert payment.apply_event(db, "stripe", forged)[0] == "amount mismatch"
    db.expire_all()
    assert payment.of_envelope(db, eid).status == "due"  # type: ignore[union-attr]
    other = ProviderEvent("evt_other", "checkout.session.completed", 0, {**forged.object, "amount_total": FEE,
                          "metadata": {"accord_payment": row.id, "accord_envelope": "someone-else"}})
    assert payment.apply_event(db, "stripe", other)[0] == "unknown payment"


def test_accord_payment_refund(db: DB, db_engine: Engine, firm_id: int, peers: StripePeers, provider: StripeCheckout,
                               monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from accord.cli import main

    eid = make(db, firm_id, "before signing")
    applicant = ready(db, "applicant", eid)
    monkeypatch.setenv("ACCORD_DATABASE_URL", db_engine.url.render_as_string(hide_password=False))
    for name in ("ACCORD_STRIPE_SECRET_KEY", "ACCORD_STRIPE_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    # (the id goes after "--": a random id may start with "-", which argparse would read as an option)
    assert main(["payment", "refund", "--reason", "x", "--", eid]) == 2
    assert "payment is not configured" in capsys.readouterr().err
    monkeypatch.setenv("ACCORD_STRIPE_SECRET_KEY", TEST_KEY)
    monkeypatch.setenv("ACCORD_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("ACCORD_STRIPE_API_BASE", peers.api_base)
    assert main(["payment", "refund", "--reason", "too early", "--", eid]) == 1
    assert "nothing to refund" in capsys.readouterr().err
    assert _paid_by_webhook(db, provider, peers, db_engine, applicant, "evt_cli") == "paid"
    assert main(["payment", "refund", "--amount", "150000", "--reason", "partial waiver", "--staff", "Lan", "--",
                 eid]) == 0
    assert "refunded 150000 VND" in capsys.readouterr().out
    assert main(["payment", "refund", "--amount", "abc", "--reason", "x", "--", eid]) == 1
    assert main(["payment", "refund", "--reason", "loan refused", "--", eid]) == 0
    assert "refunded 350000 VND" in capsys.readouterr().out
    assert main(["payment", "refund", "no-such-envelope", "--reason", "x"]) == 2
    db.expire_all()
    refunded = [e for e in audit.events(db, eid) if e.action == "refunded"]
    assert [(e.actor, e.detail["amount_minor"]) for e in refunded][0] == ("staff:Lan", 150_000)
    assert refunded[1].actor.startswith("staff:cli:")


def test_a_delegated_payer_hands_the_payment_over(db: DB, firm_id: int) -> None:
    eid = make(db, firm_id, "before signing")
    applicant = by_role(db, eid)["applicant"]
    envelopes.opened(db, applicant.id, now=T0)
    delegate = envelopes.delegate(db, applicant.id, "Phạm Văn Đại", "dai@example.com", "travelling", now=T0)
    db.expire_all()
    row = payment.of_envelope(db, eid)
    assert row is not None and row.participant_id == delegate.id
    assert audit.verify(audit.events(db, eid)).ok


def test_terms_from_the_assembled_agreement() -> None:
    assert payment.terms_from_source(None) is None
    terms = payment.terms_from_source({"amount": 529674.4, "currency": "vnd", "payer": "applicant",
                                       "when": "before signing", "description": "Loan application fee"})
    assert terms == PaymentTerms(529674, "VND", "Loan application fee", "applicant", "before signing")
    usd = payment.terms_from_source({"amount": "12.5", "currency": "USD", "payer": None, "when": "on completion"})
    assert usd is not None and (usd.amount_minor, usd.payer_role, usd.description) == (1250, None, "")


def test_a_payer_who_does_not_act_is_refused(db: DB, firm_id: int) -> None:
    with pytest.raises(EnvelopeError, match="payer records"):
        envelopes.create(db, firm_id, title="x", language="en", pdf_sha256="a" * 64, parties=PARTIES, now=T0,
                         payment=PaymentTerms(1, "VND", "", "records", "before signing"))
    db.rollback()
    with pytest.raises(EnvelopeError, match="not known"):
        envelopes.create(db, firm_id, title="x", language="en", pdf_sha256="a" * 64, parties=PARTIES, now=T0,
                         payment=PaymentTerms(1, "VND", "", "applicant", "whenever"))


def test_an_expired_checkout_is_replaced_by_a_new_one(db: DB, db_engine: Engine, firm_id: int, peers: StripePeers,
                                                      provider: StripeCheckout) -> None:
    eid = make(db, firm_id, "before signing")
    applicant = ready(db, "applicant", eid)
    first = start(db_engine, provider, applicant)
    sdk = stripe.StripeClient(TEST_KEY, base_addresses={"api": peers.api_base}, max_network_retries=0)
    sdk.v1.checkout.sessions.expire(first.checkout_id)
    assert first.url and httpx.post(first.url, data={"card": "4242424242424242"}).status_code == 410
    expired = checkout_event(provider, peers, first.checkout_id, "checkout.session.expired", "evt_expired")
    assert payment.apply_event(db, "stripe", expired)[0] == "expired"
    assert payment.apply_event(db, "stripe", expired)[0] == "duplicate"
    second = start(db_engine, provider, applicant)
    assert second.checkout_id != first.checkout_id
    db.expire_all()
    row = payment.of_envelope(db, eid)
    assert row is not None and (row.checkout_id, row.checkout_attempts, row.status) == (second.checkout_id, 2, "due")
    # A late expiry of the old checkout changes nothing now.
    stale = ProviderEvent("evt_stale", "checkout.session.expired", 0, expired.object)
    assert payment.apply_event(db, "stripe", stale)[0] == "stale"
    started = [e.detail["attempt"] for e in audit.events(db, eid) if e.action == "payment_started"]
    assert started == [1, 2]
