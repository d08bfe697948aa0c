"""Run Alembic from code: no alembic.ini, the script directory is `store/migrations`."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from store.database import make_engine

MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger("store.migrate")


def config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def ours(name: str | None, type_: str, _parents: object = None) -> bool:
    """Alembic's `include_name`: our tables only. procrastinate's (`procrastinate_*`, installed by
    revision 0010 on PostgreSQL) are the queue library's, not models of `store.models`; the trigram
    indexes of revision 0014 (PostgreSQL only, `*_trgm`) are not described by the models either."""
    if type_ == "index" and (name or "").endswith("_trgm"):
        return False
    return not (type_ == "table" and (name or "").startswith("procrastinate_"))


def head() -> str | None:
    return ScriptDirectory.from_config(config()).get_current_head()


def _engine(db: str | Engine) -> tuple[Engine, bool]:
    if isinstance(db, Engine):
        return db, False
    return make_engine(db), True


def upgrade(db: str | Engine, revision: str = "head") -> None:
    """Bring the database at `db` (a URL or an engine) up to `revision`, in one transaction."""
    engine, own = _engine(db)
    try:
        with engine.begin() as conn:
            cfg = config()
            cfg.attributes["connection"] = conn
            before = MigrationContext.configure(conn).get_current_revision()
            command.upgrade(cfg, revision)
            after = MigrationContext.configure(conn).get_current_revision()
        log.info("database schema: %s -> %s", before or "empty", after)
    finally:
        if own:
            engine.dispose()


def current_revision(db: str | Engine) -> str | None:
    """The revision the database is at; None for an empty (never migrated) database."""
    engine, own = _engine(db)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        if own:
            engine.dispose()


def is_current(db: str | Engine) -> bool:
    return current_revision(db) == head()
