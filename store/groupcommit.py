"""Group commit: concurrent writers of one SQLite file share one transaction, hence one fsync.

SQLite lets one connection write at a time, and with `synchronous=FULL` every commit waits for
an fsync (0.2 ms on a quiet disk, several ms on a busy one). Step after step committed one by
one, that wait sets the ceiling of the whole server (`bench/web.py`: a few hundred steps per
second on a busy VM, the CPU mostly idle). Here the writers of a process queue up instead: the
first becomes the leader and writes every job queued by then in one transaction; whoever queued
meanwhile waits, and the first of them leads the next batch. Each job is acknowledged only
after the commit of its batch returned, so durability is exactly that of one commit per step.
Without concurrency a batch is one job: nothing changes. (Waiting writers also no longer sleep
in SQLite's busy handler: 1, 2, 5, 10 ... ms between retries.)

The caller says how a batch is written (`run`'s `write`): `store.sessions` writes every batch of
a file on one dedicated connection, whose page cache then survives from batch to batch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def _held_lock() -> threading.Lock:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass
class Job:
    """One writer's work; `error` is set by the batch writer when this job failed."""

    payload: Any
    error: BaseException | None = None
    lead: bool = False
    # Released once, when the job is written or handed the lead: a bare lock (allocated held)
    # costs a tenth of a threading.Event to make, wait on and set, and every step makes one.
    done: threading.Lock = field(default_factory=_held_lock)


class Group:
    """The writers of one database file in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[Job] = []
        self._busy = False
        self.batches = 0  # how many batches were written (for tests and curiosity)

    def run(self, job: Job, write: Callable[[list[Job]], None]) -> None:
        """Queue `job`; return when a batch holding it is committed or failed (`job.error`).
        `write(batch)` writes and commits a batch (in the caller's thread), setting `error`
        on the jobs that failed; it runs only if this caller ends up leading a batch. An
        exception from it becomes the `error` of every job of the batch."""
        with self._lock:
            self._pending.append(job)
            lead = not self._busy
            self._busy = True
        if not lead:
            job.done.acquire()
            if not job.lead:
                return  # written by another leader
        with self._lock:
            batch, self._pending = self._pending, []
            self.batches += 1
        try:
            write(batch)
        except BaseException as exc:  # noqa: BLE001 - each waiting writer raises it in its own thread
            for j in batch:
                if j.error is None:
                    j.error = exc
        finally:
            with self._lock:
                if self._pending:  # hand over: the next waiting writer leads the next batch
                    nxt = self._pending[0]
                    nxt.lead = True
                    nxt.done.release()
                else:
                    self._busy = False
            for j in batch:
                if j is not job:
                    j.done.release()


_GROUPS: dict[str, Group] = {}
_GROUPS_LOCK = threading.Lock()


def group(key: str) -> Group:
    """The group of the database named `key` (its URL)."""
    with _GROUPS_LOCK:
        return _GROUPS.setdefault(key, Group())
