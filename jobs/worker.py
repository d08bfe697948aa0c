"""The outbox worker: fans committed domain events out to their consumers and delivers them with
retries and exponential backoff (`jobs.backoff`).

Three steps, each its own short transaction, so a crash (even `kill -9`) at any point loses
nothing:

1. **dispatch**: an undispatched outbox event is claimed (`UPDATE … WHERE dispatched_at IS NULL`,
   so two workers never fan one event out twice) and one `delivery` row is written per consumer
   target (each webhook endpoint whose filter matches; each `on completion` action), in the same
   transaction as the claim.
2. **claim**: a due delivery gets a lease (`locked_until`); an attempt interrupted by a crash is
   tried again when the lease runs out. Only the lowest `seq` pending delivery of a consumer and
   an agreement is eligible, so one receiver gets an agreement's events in order.
3. **record**: the attempt (request and response) goes to `delivery_attempt`; success marks the
   delivery `delivered`, failure schedules the next attempt or, after `RETRY_FOR`, gives it up.

Delivery is at least once: a receiver may see an event again (same `event_id`) when the worker
died after the receiver answered but before the result was recorded.

The embedded default needs no extra server (it runs in `accord serve` or as `accord worker`,
on SQLite or PostgreSQL; several `accord worker` processes can share a PostgreSQL database, the
claims and leases keep them apart). The scale path, `ACCORD_QUEUE=procrastinate` (`jobs.queue`),
keeps this class's dispatch, attempt and record and hands claiming and scheduling to procrastinate's
jobs on PostgreSQL (docs/webhooks.md, "Running workers").
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Engine, update
from sqlmodel import Session as DB
from sqlmodel import col, select

from jobs import backoff
from jobs.clock import Clock, SystemClock
from store.models import Delivery, DeliveryAttempt, OutboxEvent

log = logging.getLogger("accord.jobs")


@dataclass
class Outcome:
    """What one attempt did: the request as sent (for the log) and what came back."""

    ok: bool
    request: dict[str, Any] = field(default_factory=dict)
    status: int | None = None
    body: str | None = None
    error: str | None = None
    duration_ms: int = 0
    retry: bool = True  # False: retrying cannot help (the delivery fails now)
    skip: bool = False  # not attempted (its consumer is disabled): no log row, tried later


class Consumer(Protocol):
    """A kind of delivery (`webhook`, `action`)."""

    kind: str

    def targets(self, db: DB, event: OutboxEvent) -> list[tuple[int | None, int | None]]:
        """(endpoint_id, action_index) pairs that should receive `event`."""
        ...

    def deliver(self, db: DB, delivery: Delivery, event: OutboxEvent, now: dt.datetime) -> Outcome: ...

    def recorded(self, db: DB, delivery: Delivery, outcome: Outcome, now: dt.datetime) -> None:
        """Called in the transaction that records an attempt (endpoint health, alerts)."""
        ...

    def blocked(self, db: DB) -> set[int]:
        """Endpoint ids whose deliveries wait (disabled endpoints)."""
        ...


class Runner(Protocol):
    """What `accord worker` and `accord serve` run: this module's `Worker` or `jobs.queue.QueueWorker`."""

    def run(self, stop: threading.Event, interval: float = 1.0) -> None: ...

    def run_once(self) -> int: ...


def aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


class Worker:
    def __init__(self, db: Engine, consumers: Sequence[Consumer], *, clock: Clock | None = None,
                 lease: dt.timedelta = dt.timedelta(seconds=60), batch: int = 200) -> None:
        self.db = db
        self.consumers = {c.kind: c for c in consumers}
        self.clock = clock or SystemClock()
        self.lease = lease
        self.batch = batch
        # Called with the deliveries of an event before its dispatch commits (the procrastinate
        # backend queues their jobs there, in the same transaction).
        self.after_dispatch: Callable[[DB, list[Delivery]], None] | None = None

    # -- 1. dispatch ------------------------------------------------------------------------

    def dispatch(self) -> int:
        """Fan out undispatched events; how many were dispatched."""
        done = 0
        with DB(self.db) as db:
            ids = list(db.exec(select(OutboxEvent.id).where(col(OutboxEvent.dispatched_at).is_(None))
                               .order_by(col(OutboxEvent.id)).limit(self.batch)).all())
        for event_id in ids:
            try:
                done += self._dispatch_one(event_id)
            except Exception as exc:  # a consumer failed to plan this event: it stays undispatched, tried again
                log.error("dispatch failed: %s", type(exc).__name__)
        return done

    def _dispatch_one(self, event_id: int | None) -> int:
        """Claim one event and write its deliveries, in one transaction; 1 when this call did it."""
        with DB(self.db) as db:
            now = self.clock.now()
            claimed = db.execute(update(OutboxEvent).where(col(OutboxEvent.id) == event_id,
                                                           col(OutboxEvent.dispatched_at).is_(None))
                                 .values(dispatched_at=now))
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                db.rollback()
                return 0
            event = db.get(OutboxEvent, event_id)
            assert event is not None
            made: list[Delivery] = []
            for consumer in self.consumers.values():
                for endpoint_id, action_index in consumer.targets(db, event):
                    made.append(Delivery(firm_id=event.firm_id, outbox_id=event.id or 0, kind=consumer.kind,
                                         endpoint_id=endpoint_id, action_index=action_index,
                                         agreement_id=event.agreement_id, seq=event.seq, next_attempt_at=now,
                                         created_at=now))
            db.add_all(made)
            if made and self.after_dispatch is not None:
                self.after_dispatch(db, made)
            db.commit()
            return 1

    # -- 2. what is due -----------------------------------------------------------------------

    def due(self) -> list[int]:
        """Deliveries to attempt now: the first pending one per consumer and agreement, if due."""
        now = self.clock.now()
        with DB(self.db) as db:
            blocked: set[int] = set()
            for consumer in self.consumers.values():
                blocked |= consumer.blocked(db)
            rows = db.exec(select(Delivery).where(Delivery.status == "pending")
                           .order_by(col(Delivery.seq), col(Delivery.id)).limit(self.batch * 10)).all()
            seen: set[tuple[Any, ...]] = set()
            out = []
            for d in rows:
                key = (d.kind, d.endpoint_id, d.action_index, d.agreement_id)
                if key in seen:
                    continue
                seen.add(key)
                if d.endpoint_id is not None and d.endpoint_id in blocked:
                    continue
                if aware(d.next_attempt_at) > now or (d.locked_until is not None and aware(d.locked_until) > now):
                    continue
                out.append(d.id)
            return [i for i in out if i is not None][: self.batch]

    # -- 3. attempt and record ---------------------------------------------------------------

    def attempt(self, delivery_id: int) -> bool | None:
        """Claim, deliver and record one delivery: True delivered, False failed, None not attempted."""
        now = self.clock.now()
        with DB(self.db) as db:
            claimed = db.execute(
                update(Delivery).where(col(Delivery.id) == delivery_id, col(Delivery.status) == "pending",
                                       (col(Delivery.locked_until).is_(None)) | (col(Delivery.locked_until) <= now))
                .values(locked_until=now + self.lease))
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                db.rollback()
                return None
            db.commit()
        with DB(self.db) as db:
            delivery = db.get(Delivery, delivery_id)
            assert delivery is not None
            event = db.get(OutboxEvent, delivery.outbox_id)
            assert event is not None
            consumer = self.consumers.get(delivery.kind)
            if consumer is None:
                outcome = Outcome(ok=False, error=f"no consumer for {delivery.kind}", retry=True)
            else:
                try:
                    outcome = consumer.deliver(db, delivery, event, now)
                except Exception as exc:  # a bug or an outage in a consumer must not stop the worker
                    log.error("delivery failed with %s", type(exc).__name__)
                    db.rollback()
                    outcome = Outcome(ok=False, error=f"{type(exc).__name__}: {exc}"[:500])
        return self.record(delivery_id, outcome)

    def record(self, delivery_id: int, outcome: Outcome) -> bool | None:
        now = self.clock.now()
        with DB(self.db) as db:
            delivery = db.get(Delivery, delivery_id)
            assert delivery is not None
            delivery.locked_until = None
            if outcome.skip:
                db.add(delivery)
                db.commit()
                return None
            delivery.attempts += 1
            delivery.first_attempt_at = delivery.first_attempt_at or now
            db.add(DeliveryAttempt(delivery_id=delivery_id, at=now, request=outcome.request,
                                   response_status=outcome.status, response_body=outcome.body, error=outcome.error,
                                   ok=outcome.ok, duration_ms=outcome.duration_ms))
            if outcome.ok:
                delivery.status, delivery.delivered_at, delivery.last_error = "delivered", now, None
            else:
                delivery.last_error = outcome.error
                given_up = not outcome.retry or now - aware(delivery.first_attempt_at) >= backoff.RETRY_FOR
                if given_up:
                    delivery.status = "failed"
                else:
                    delivery.next_attempt_at = now + backoff.delay(delivery.attempts)
            db.add(delivery)
            consumer = self.consumers.get(delivery.kind)
            if consumer is not None:
                consumer.recorded(db, delivery, outcome, now)
            db.commit()
            return outcome.ok

    # -- loops ------------------------------------------------------------------------------------

    def run_once(self) -> int:
        """Dispatch, then attempt everything due; the number of attempts made."""
        self.dispatch()
        made = 0
        for delivery_id in self.due():
            if self.attempt(delivery_id) is not None:
                made += 1
        return made

    def run(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Until `stop` is set: run, and sleep `interval` when there was nothing to do."""
        while not stop.is_set():
            try:
                made = self.run_once()
            except Exception as exc:  # the database went away for a moment: try again later
                log.error("worker pass failed: %s", type(exc).__name__)
                made = 0
            if not made:
                stop.wait(interval)


def start_thread(worker: Runner, interval: float = 1.0) -> tuple[threading.Thread, threading.Event]:
    """Run `worker` in a daemon thread (how `accord serve` runs it in-process)."""
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop, interval), name="accord-worker", daemon=True)
    thread.start()
    return thread, stop
