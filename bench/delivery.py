"""The outbox worker's two backends side by side: how many webhook deliveries a second each gets
through to a receiver on loopback, and how long one event takes from its commit to the receiver
with an idle worker. (Not `bench/queue.py`: run as a script, that name would hide the standard
library's `queue` module.)

For each backend (`table` on SQLite, `table` and `procrastinate` on PostgreSQL): a fresh
database, one firm with one webhook endpoint, `--events` events spread over `--agreements`
agreements (order holds per agreement, so that is the parallelism there is), then one worker
(a thread, as in `accord serve`; procrastinate with `--concurrency`) delivers them all; then
`--latency` single events, one at a time, each timed from its commit to its arrival.

Prints `name: value unit` lines. PostgreSQL needs ACCORD_BENCH_POSTGRES_URL (a server URL; a
database is made and dropped); without it only the SQLite line is printed.

    python bench/delivery.py [--events 400] [--agreements 40] [--concurrency 4] [--latency 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from contextlib import AbstractContextManager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlmodel import Session as DB

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from integrations import webhooks  # noqa: E402
from integrations.webhooks import WebhookConsumer  # noqa: E402
from jobs.queue import QueueWorker  # noqa: E402
from jobs.worker import Runner, Worker, start_thread  # noqa: E402
from store import migrate, outbox, secretbox  # noqa: E402
from store.database import make_engine  # noqa: E402
from store.sessions import ensure_firm  # noqa: E402
from store.testdb import fresh_postgres  # noqa: E402


class Counter:
    """A receiver that answers 200 to everything and counts (the signature is the tests' business)."""

    def __init__(self) -> None:
        self.count = 0
        self.arrived = threading.Condition()
        counter = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(200)
                self.end_headers()
                with counter.arrived:
                    counter.count += 1
                    counter.arrived.notify_all()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def wait(self, count: int, timeout: float = 300) -> None:
        with self.arrived:
            if not self.arrived.wait_for(lambda: self.count >= count, timeout):
                raise SystemExit(f"only {self.count} of {count} deliveries arrived")


def postgres(server: str) -> AbstractContextManager[str]:
    """A scratch database on `server`, dropped afterwards (`store.testdb.fresh_postgres`)."""
    return fresh_postgres(server, prefix="accord_bench")


def run(label: str, url: str, backend: str, args: argparse.Namespace) -> None:
    migrate.upgrade(url)
    engine = make_engine(url)
    receiver = Counter()
    with DB(engine) as db:
        firm = ensure_firm(db, "bench", "Bench")
        firm_id = firm.id or 0
        webhooks.set_allow_private(db, firm_id, True)
        webhooks.add(db, firm_id, receiver.url)
        for n in range(args.events):
            outbox.emit(db, firm_id, outbox.ENVELOPE_VIEWED, f"agr-{n % args.agreements}", {})
        db.commit()
    worker = Worker(engine, [WebhookConsumer()])
    runner: Runner = worker if backend == "table" else QueueWorker(worker, url, concurrency=args.concurrency)
    started = time.perf_counter()
    thread, stop = start_thread(runner, interval=0.05)
    try:
        receiver.wait(args.events)
        elapsed = time.perf_counter() - started
        print(f"{label} deliveries per second: {args.events / elapsed:.0f} /s")
        latencies = []
        for n in range(args.latency):
            time.sleep(0.2)  # idle again
            with DB(engine) as db:
                outbox.emit(db, firm_id, outbox.ENVELOPE_VIEWED, f"lat-{n}", {})
                db.commit()
                committed = time.perf_counter()
            receiver.wait(args.events + n + 1)
            latencies.append((time.perf_counter() - committed) * 1000)
        if latencies:
            print(f"{label} commit to receiver median: {statistics.median(latencies):.0f} ms")
    finally:
        stop.set()
        thread.join(30)
        receiver.server.shutdown()
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--agreements", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--latency", type=int, default=20)
    args = parser.parse_args()
    # The endpoints' signing secrets are stored encrypted (store/secretbox.py): a throwaway key,
    # in the environment so that worker processes started from here read it too.
    os.environ.setdefault(secretbox.ENV_KEYS, secretbox.new_key())
    with tempfile.TemporaryDirectory() as tmp:
        run("table sqlite", f"sqlite:///{tmp}/bench.db", "table", args)
    server = os.environ.get("ACCORD_BENCH_POSTGRES_URL", "")
    if not server:
        print("postgresql: skipped (set ACCORD_BENCH_POSTGRES_URL)", file=sys.stderr)
        return
    for backend in ("table", "procrastinate"):
        with postgres(server) as url:
            run(f"{backend} postgresql", url, backend, args)


if __name__ == "__main__":
    main()
