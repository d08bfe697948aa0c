"""Live updates for the agent console: a `Broadcaster` takes the changes `store.changes` publishes
(from any thread) and hands them to the console's open event streams (asyncio), per firm.

Two implementations of one small interface:
- `InProcessBroadcaster` (the default): one process, no moving parts.
- `PostgresBroadcaster`: several web workers on PostgreSQL. `publish` sends `NOTIFY` on a channel;
  every worker `LISTEN`s on its own connection in a thread and delivers what arrives to its own
  subscribers (its own changes included, so every worker behaves alike).

A change carries ids and the firm only; what a subscriber then shows is read again through the
console's firm-scoped queries, so a stream never carries another firm's data, nor personal data.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Any, Protocol

from store.changes import Change

log = logging.getLogger("accord.manage.live")
CHANNEL = "accord_console"


class Broadcaster(Protocol):
    def publish(self, change: Change) -> None:
        """Send a committed change to every subscriber of its firm (callable from any thread)."""

    def subscribe(self, firm_id: int) -> Any:
        """An async context manager giving an `asyncio.Queue[Change]` of the firm's changes."""

    def close(self) -> None: ...


class InProcessBroadcaster:
    def __init__(self) -> None:
        self._subscribers: dict[int, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Change]]]] = {}
        self._lock = threading.Lock()

    def publish(self, change: Change) -> None:
        self.deliver(change)

    def deliver(self, change: Change) -> None:
        with self._lock:
            targets = list(self._subscribers.get(change.firm_id, ()))
        for loop, queue in targets:
            try:
                loop.call_soon_threadsafe(_offer, queue, change)
            except RuntimeError:  # that loop has closed; its subscription goes with it
                continue

    @asynccontextmanager
    async def subscribe(self, firm_id: int) -> AsyncIterator[asyncio.Queue[Change]]:
        queue: asyncio.Queue[Change] = asyncio.Queue(maxsize=256)
        entry = (asyncio.get_running_loop(), queue)
        with self._lock:
            self._subscribers.setdefault(firm_id, set()).add(entry)
        try:
            yield queue
        finally:
            with self._lock:
                self._subscribers.get(firm_id, set()).discard(entry)

    def subscriber_count(self) -> int:
        with self._lock:
            return sum(len(s) for s in self._subscribers.values())

    def close(self) -> None:
        pass


def _offer(queue: asyncio.Queue[Change], change: Change) -> None:
    """A slow reader loses the oldest change rather than blocking the publisher (the page re-reads
    the whole list on any change, so only the latest matters)."""
    if queue.full():
        try:
            queue.get_nowait()
        except asyncio.QueueEmpty:
            pass
    queue.put_nowait(change)


def encode(change: Change) -> str:
    return json.dumps(asdict(change), separators=(",", ":"))


def decode(payload: str) -> Change | None:
    try:
        data = json.loads(payload)
        return Change(str(data["kind"]), int(data["firm_id"]), data.get("session_id"), data.get("envelope_id"))
    except (ValueError, KeyError, TypeError):
        return None


class PostgresBroadcaster:
    """LISTEN/NOTIFY over psycopg 3. `url` is a libpq URL (postgresql://...)."""

    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        self.url, self.channel = url, channel
        self.local = InProcessBroadcaster()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._start_lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._sender: Any = None

    def publish(self, change: Change) -> None:
        import psycopg

        with self._send_lock:
            for attempt in (1, 2):
                try:
                    if self._sender is None or self._sender.closed:
                        self._sender = psycopg.connect(self.url, autocommit=True)
                    self._sender.execute("SELECT pg_notify(%s, %s)", (self.channel, encode(change)))
                    return
                except psycopg.OperationalError:
                    self._sender = None
                    if attempt == 2:
                        raise

    def _listen(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True) as conn:
                    conn.execute(f'LISTEN "{self.channel}"')
                    self._ready.set()
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=0.5):
                            change = decode(note.payload)
                            if change is not None:
                                self.local.deliver(change)
            except psycopg.OperationalError as exc:
                log.warning("listen connection lost: %s", type(exc).__name__)
                self._stop.wait(1)

    def start(self, timeout: float = 10) -> None:
        """Start listening (idempotent); returns once the LISTEN is in place."""
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._listen, name="accord-listen", daemon=True)
                self._thread.start()
        self._ready.wait(timeout)

    def subscribe(self, firm_id: int) -> Any:
        self.start()
        return self.local.subscribe(firm_id)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        with self._send_lock:
            if self._sender is not None:
                self._sender.close()
                self._sender = None


def broadcaster_for(database_url: str) -> Broadcaster:
    """LISTEN/NOTIFY on PostgreSQL (any number of workers), in-process otherwise."""
    if database_url.startswith(("postgresql", "postgres")):
        url = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
        return PostgresBroadcaster(url)
    return InProcessBroadcaster()
