"""Database engines: SQLite (WAL) by default, PostgreSQL (psycopg 3) by URL.

Every SQLite connection gets the same pragmas: WAL (readers never block the writer),
foreign keys on, a busy timeout (concurrent writers wait instead of failing) and
`synchronous=FULL`, so a committed step survives a power cut, not only a crash.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import create_engine

from store import jsoncodec

BUSY_TIMEOUT_MS = 5000
SQLITE_POOL = 40  # anyio's default number of worker threads, which run the units of work


def normalize_url(url: str) -> str:
    """`postgres://` and `postgresql://` mean psycopg 3 here (SQLAlchemy's default would be psycopg2)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_sqlite(url: str) -> bool:
    return make_url(normalize_url(url)).get_backend_name() == "sqlite"


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for `url`; a PostgreSQL URL needs psycopg 3 installed, a SQLite one nothing."""
    url = normalize_url(url)
    json_codec: dict[str, Any] = {"json_serializer": jsoncodec.dumps, "json_deserializer": jsoncodec.loads}
    if not is_sqlite(url):
        return create_engine(url, echo=echo, pool_pre_ping=True, **json_codec)
    # The pool keeps as many connections as the web server has worker threads (anyio's 40), so a
    # busy moment does not open (and set the pragmas of) a new connection per request and close it
    # after: that was a quarter of a step's CPU time in `bench/web.py` at 8 concurrent requests.
    engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False}, pool_size=SQLITE_POOL,
                           max_overflow=8, **json_codec)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous=FULL")
        finally:
            cursor.close()

    return engine


def check(engine: Engine) -> str | None:
    """None when the database answers a query, else the reason it does not (for /readyz)."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not ready"; the reason goes to the probe
        return f"database unreachable: {type(exc).__name__}"
    return None
