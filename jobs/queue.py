"""The scale path of the outbox worker (`ACCORD_QUEUE=procrastinate`): deliveries as procrastinate
jobs on PostgreSQL, behind the same `Consumer`s, `delivery` rows and delivery log as the table
worker (`jobs.worker`). procrastinate replaces the transport only (polling the deliveries, claiming
them, scheduling retries); what a delivery is, how it is signed, logged, retried (`jobs.backoff`)
and given up, and when an endpoint is disabled, stay in `jobs.worker.Worker` and the consumers.

One job works one **chain**: the pending deliveries of one consumer target (webhook endpoint or
`on completion` action) for one agreement, oldest `seq` first. Every job of a chain carries the
chain's procrastinate `lock`, so at most one runs at a time, across all worker processes, and the
chain's events reach their receiver in order. A chain has at most one job waiting to run now
(`queueing_lock` `…:now`, priority 1) and at most one waiting for a retry time (`…:at`, priority
0, `scheduled_at` = the delivery's next attempt): the retry wait is procrastinate's, no polling.

Nothing is lost on a crash, because every way into the queue is either transactional or swept:

- `dispatch` (the table worker's) writes an outbox event's deliveries **and** their chains' jobs in
  the transaction that claims the event (procrastinate defers on our connection), so a committed
  delivery always has a job.
- A job records its attempt (`Worker.attempt`, the delivery's own lease) before it queues what
  comes next; if the process dies in between, `sweep` finds the chain's due head delivery with no
  job that can run it and queues one.
- A job whose worker died (`kill -9`: no heartbeat) stays `doing` and would hold the chain's lock:
  `sweep` marks it failed (procrastinate's stalled-worker detection) and the chain is queued again
  once the delivery's lease has run out. The receiver may then see that event twice, with the
  same event id: delivery is at least once, as with the table worker.
- A delivery sent again by hand (`accord webhook resend`) or an endpoint enabled again is found by
  `sweep` too (every `sweep_every` seconds).

The outbox itself is still read by `dispatch` (one indexed query per `interval`); the write path
(the event in the transaction of the change) is the same for both backends.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

import procrastinate
import psycopg
from procrastinate import exceptions as pexc
from procrastinate.jobs import Status
from sqlalchemy import text
from sqlmodel import Session as DB
from sqlmodel import col, select

from jobs.worker import Worker, aware
from store.database import is_sqlite, normalize_url
from store.models import Delivery

log = logging.getLogger("accord.jobs.queue")

TASK = "accord.deliver_chain"
QUEUE = "accord_outbox"
BACKENDS = ("table", "procrastinate")
NOW_PRIORITY = 1  # a chain's "run now" job passes its own job waiting for a later retry time
MAX_STEPS = 50  # deliveries one job makes before it hands the chain to a new job (fairness)


class QueueConfigError(ValueError):
    """`ACCORD_QUEUE` names no backend, or one the database cannot carry."""


def backend(database_url: str, queue: str) -> str:
    """The backend `ACCORD_QUEUE` (`queue`) asks for (empty: `table`), checked against the database."""
    name = (queue or "table").strip().lower()
    if name not in BACKENDS:
        raise QueueConfigError(f"ACCORD_QUEUE={name!r} is not a queue backend; use 'table' (the embedded "
                               "default) or 'procrastinate' (PostgreSQL)")
    if name == "procrastinate" and is_sqlite(database_url):
        raise QueueConfigError("ACCORD_QUEUE=procrastinate needs a PostgreSQL database (ACCORD_DATABASE_URL="
                               "postgresql://…); with SQLite use ACCORD_QUEUE=table (the default)")
    return name


def conninfo(database_url: str) -> str:
    """The libpq URL of a SQLAlchemy one (`postgresql+psycopg://` → `postgresql://`)."""
    url = normalize_url(database_url)
    return "postgresql://" + url.split("://", 1)[1]


@dataclass(frozen=True)
class Chain:
    """One consumer target and one agreement: the unit of order."""

    kind: str
    endpoint_id: int | None
    action_index: int | None
    agreement_id: str

    @classmethod
    def of(cls, d: Delivery) -> Chain:
        return cls(d.kind, d.endpoint_id, d.action_index, d.agreement_id)

    @property
    def lock(self) -> str:
        return f"accord:{self.kind}:{self.endpoint_id}:{self.action_index}:{self.agreement_id}"

    def args(self) -> dict[str, Any]:
        return {"kind": self.kind, "endpoint_id": self.endpoint_id, "action_index": self.action_index,
                "agreement_id": self.agreement_id}


def _deferrer(app: procrastinate.App, chain: Chain, delay: dt.timedelta | None,
              connection: Any = None) -> Any:
    """The procrastinate deferrer of `chain`'s job: now (delay None) or after `delay`."""
    options: dict[str, Any] = {"lock": chain.lock, "queue": QUEUE}
    if connection is not None:
        options["connection"] = connection
    if delay is None:
        options.update(queueing_lock=chain.lock + ":now", priority=NOW_PRIORITY)
    else:
        options.update(queueing_lock=chain.lock + ":at", priority=0, schedule_in={"seconds": delay.total_seconds()})
    return app.configure_task(TASK, **options)


def defer_in_transaction(db: DB, app: procrastinate.App, chains: set[Chain]) -> None:
    """Queue a "run now" job for each chain, in `db`'s open transaction (on its connection): the
    jobs commit or roll back with the deliveries. A chain that already has one waiting is left so."""
    db.flush()  # the deliveries go first, outside the savepoints below
    raw = db.connection().connection.dbapi_connection
    assert isinstance(raw, psycopg.Connection)
    for chain in sorted(chains, key=lambda c: c.lock):
        try:
            # psycopg's savepoint, on the very connection the job is written with (SQLAlchemy's
            # `begin_nested` would only emit one if the session itself ran a statement in it): a
            # refused duplicate rolls back to it instead of aborting the whole transaction.
            with raw.transaction():
                _deferrer(app, chain, None, raw).defer(**chain.args())
        except pexc.AlreadyEnqueued:
            pass


class QueueWorker:
    """The worker of the procrastinate backend: procrastinate's worker runs the chains' jobs; a pump
    beside it dispatches new outbox events and sweeps (module docstring). Same `run(stop, interval)`
    as `jobs.worker.Worker`, so `accord worker` and `accord serve` run either."""

    def __init__(self, worker: Worker, database_url: str, *, concurrency: int = 4, sweep_every: float = 30.0,
                 stalled_after: float = 30.0, name: str = "accord-worker") -> None:
        self.worker = worker
        self.url = conninfo(database_url)
        self.concurrency = concurrency
        self.sweep_every = sweep_every
        self.stalled_after = stalled_after
        self.name = name
        # Deferring inside our own transactions: a connector that only ever gets our connection.
        self.sync_app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector(conninfo=self.url))
        self.app = procrastinate.App(connector=procrastinate.PsycopgConnector(
            conninfo=self.url, min_size=1, max_size=concurrency + 3))

        @self.app.task(name=TASK, queue=QUEUE)
        async def deliver_chain(kind: str, endpoint_id: int | None, action_index: int | None,
                                agreement_id: str) -> None:
            chain = Chain(kind, endpoint_id, action_index, agreement_id)
            then = await asyncio.to_thread(self.work_chain, chain)
            if then is not False:
                await self._defer(chain, then)

        worker.after_dispatch = self._after_dispatch

    # -- in the dispatch transaction --------------------------------------------------------------

    def _after_dispatch(self, db: DB, deliveries: list[Delivery]) -> None:
        defer_in_transaction(db, self.sync_app, {Chain.of(d) for d in deliveries})

    # -- one job: a chain's due deliveries, in order --------------------------------------------

    def head(self, db: DB, chain: Chain) -> Delivery | None:
        return db.exec(select(Delivery).where(
            Delivery.status == "pending", Delivery.kind == chain.kind, Delivery.agreement_id == chain.agreement_id,
            col(Delivery.endpoint_id).is_(None) if chain.endpoint_id is None
            else col(Delivery.endpoint_id) == chain.endpoint_id,
            col(Delivery.action_index).is_(None) if chain.action_index is None
            else col(Delivery.action_index) == chain.action_index,
        ).order_by(col(Delivery.seq), col(Delivery.id)).limit(1)).first()

    def work_chain(self, chain: Chain) -> dt.timedelta | None | Literal[False]:
        """Attempt the chain's due deliveries in order. What comes next: False nothing (the chain is
        done, or waits on a disabled endpoint: `sweep` finds it when enabled), None a new job now
        (fairness after `MAX_STEPS`), a delay: a job then (the head's retry time or lease end)."""
        consumer = self.worker.consumers.get(chain.kind)
        for _ in range(MAX_STEPS):
            now = self.worker.clock.now()
            with DB(self.worker.db) as db:
                head = self.head(db, chain)
                if head is None or head.id is None:
                    return False
                if consumer is not None and head.endpoint_id is not None and head.endpoint_id in consumer.blocked(db):
                    return False
                wait = self._wait(head, now)
                if wait is not None:
                    return wait
                head_id = head.id
            if self.worker.attempt(head_id) is None:  # leased by another attempt, or its consumer is off
                with DB(self.worker.db) as db:
                    again = db.get(Delivery, head_id)
                    wait = self._wait(again, self.worker.clock.now()) if again is not None else None
                return wait if wait is not None else dt.timedelta(seconds=self.sweep_every)
        return None

    @staticmethod
    def _wait(d: Delivery | None, now: dt.datetime) -> dt.timedelta | None:
        """How long until `d` may be attempted (its retry time, or the lease of an attempt in
        flight); None when it may be now."""
        if d is None or d.status != "pending":
            return None
        until = aware(d.next_attempt_at)
        if d.locked_until is not None:
            until = max(until, aware(d.locked_until))
        return until - now if until > now else None

    async def _defer(self, chain: Chain, delay: dt.timedelta | None) -> None:
        try:
            await _deferrer(self.app, chain, delay).defer_async(**chain.args())
        except pexc.AlreadyEnqueued:
            pass

    # -- the sweep: stalled jobs, and chains with a due head and no job to run it --------------

    async def sweep(self) -> int:
        """Fail the jobs of dead workers, then queue every due chain no job will run; how many."""
        stalled = await self.app.job_manager.get_stalled_jobs(queue=QUEUE, task_name=TASK,
                                                              seconds_since_heartbeat=self.stalled_after)
        for job in stalled:
            log.warning("job %s of a worker that stopped answering: marked failed, its chain queued again", job.id)
            await self.app.job_manager.finish_job(job, status=Status.FAILED, delete_job=False)
        await self.app.job_manager.prune_stalled_workers(self.stalled_after)
        missing = await asyncio.to_thread(self.unqueued)
        for chain in missing:
            await self._defer(chain, None)
        return len(missing)

    def unqueued(self) -> list[Chain]:
        """Chains whose head delivery is due (`Worker.due`: not blocked, not leased) and that no job
        runs now or will run soon (a `doing` job, or a `todo` one already due)."""
        due = self.worker.due()
        if not due:
            return []
        with DB(self.worker.db) as db:
            chains = {Chain.of(d) for d in db.exec(select(Delivery).where(col(Delivery.id).in_(due))).all()}
            covered = set(db.execute(text(
                "SELECT DISTINCT lock FROM procrastinate_jobs WHERE lock = ANY(:locks) AND queue_name = :queue"
                " AND (status = 'doing' OR (status = 'todo' AND (scheduled_at IS NULL OR scheduled_at <= now())))"),
                {"locks": [c.lock for c in chains], "queue": QUEUE}).scalars().all())
        return sorted((c for c in chains if c.lock not in covered), key=lambda c: c.lock)

    # -- running ------------------------------------------------------------------------------------

    def run_once(self) -> int:
        """Dispatch, sweep, then run every job that is due now and stop (`accord worker --once`);
        the number of events dispatched."""

        async def once() -> int:
            async with self.app.open_async():
                dispatched = await asyncio.to_thread(self.worker.dispatch)
                await self.sweep()
                await self.app.run_worker_async(queues=[QUEUE], name=self.name, wait=False,
                                                install_signal_handlers=False, delete_jobs="successful")
                return dispatched

        return asyncio.run(once())

    def run(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Until `stop` is set: procrastinate's worker and the pump, in an event loop of this thread."""
        asyncio.run(self._main(stop, interval))

    async def _main(self, stop: threading.Event, interval: float) -> None:
        heartbeat = max(0.2, min(10.0, self.stalled_after / 3))
        async with self.app.open_async():
            worker = asyncio.create_task(self.app.run_worker_async(
                queues=[QUEUE], name=self.name, concurrency=self.concurrency, install_signal_handlers=False,
                delete_jobs="successful", update_heartbeat_interval=heartbeat,
                stalled_worker_timeout=self.stalled_after, fetch_job_polling_interval=max(interval, 1.0)))
            pump = asyncio.create_task(self._pump(stop, interval))
            try:
                while not stop.is_set() and not worker.done() and not pump.done():
                    await asyncio.sleep(0.1)
            finally:
                pump.cancel()
                worker.cancel()
                for task in (pump, worker):
                    try:
                        await task
                    except asyncio.CancelledError:
                        pass
                    except Exception as exc:  # shutting down: say why the worker had stopped
                        log.error("queue worker stopped: %s", type(exc).__name__)

    async def _pump(self, stop: threading.Event, interval: float) -> None:
        last_sweep = float("-inf")
        while not stop.is_set():
            dispatched = 0
            try:
                dispatched = await asyncio.to_thread(self.worker.dispatch)
                if time.monotonic() - last_sweep >= self.sweep_every:
                    last_sweep = time.monotonic()
                    await self.sweep()
            except Exception as exc:  # the database went away for a moment: try again later
                log.error("queue pump failed: %s", type(exc).__name__)
            if not dispatched:
                await asyncio.sleep(interval)
