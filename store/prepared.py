"""Statements of the step's hot path, compiled once and run straight on the SQLite driver.

Why: an interview step runs the same few statements every time (`store.sessions`: read the
session, the guarded UPDATE, the answer event's INSERT). SQLAlchemy's per-execution machinery
around each (an execution context, parameter processing, a result object) cost about 15 µs per
statement against 3 µs for the driver's own call: with the pool and the commit, about 60 µs of
every step's ~1.1 ms of server CPU in `bench/web.py`. A `Prepared` statement keeps what
SQLAlchemy would work out on every call (the SQL text, the parameter order, each parameter's type
conversion, the literal values) and hands the driver a tuple.

Only on SQLite: there the statement is in-process and its overhead is what the step pays; on
PostgreSQL each statement is a network round trip that dwarfs it, and SQLAlchemy's handling
(connection invalidation on a lost server, psycopg's adaptation) is worth keeping. Errors are
raised as SQLAlchemy's own exception classes either way (`IntegrityError`, `OperationalError`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]  # the parameters in the order of the SQL's placeholders
    defaults: dict[str, Any]  # values the statement carries itself (literals, None)
    binds: dict[str, Callable[[Any], Any]]  # the type conversion of each parameter that has one
    results: tuple[Callable[[Any], Any] | None, ...]  # per selected column (a SELECT's)

    def row(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        values = []
        for name in self.names:
            value = params[name] if name in params else self.defaults[name]
            convert = self.binds.get(name)
            values.append(value if convert is None else convert(value))
        return tuple(values)


class Prepared:
    """A Core statement with named `bindparam`s: compiled once and run on the driver on SQLite,
    run by SQLAlchemy elsewhere (same results)."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: _Compiled | None = None

    def rowcount(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """Run it (an UPDATE); how many rows it changed."""
        if conn.dialect.name != "sqlite":
            return int(conn.execute(self.statement, params).rowcount)
        compiled = self._compile(conn.dialect)
        return int(self._run(conn, compiled, "execute", compiled.row(params)).rowcount)

    def executemany(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run it once per row (an INSERT)."""
        if conn.dialect.name != "sqlite":
            conn.execute(self.statement, list(rows))
            return
        compiled = self._compile(conn.dialect)
        self._run(conn, compiled, "executemany", [compiled.row(r) for r in rows])

    def first(self, conn: Connection, params: Mapping[str, Any]) -> Sequence[Any] | None:
        """The first row of a SELECT (its columns converted as SQLAlchemy would), or None."""
        if conn.dialect.name != "sqlite":
            return conn.execute(self.statement, params).first()
        compiled = self._compile(conn.dialect)
        row = self._run(conn, compiled, "execute", compiled.row(params)).fetchone()
        if row is None or not any(compiled.results):
            return row
        return tuple(value if convert is None else convert(value)
                     for convert, value in zip(compiled.results, row, strict=True))

    def _compile(self, dialect: Dialect) -> _Compiled:
        done = self._compiled
        if done is None:
            compiled = cast(SQLCompiler, cast(ClauseElement, self.statement).compile(dialect=dialect))
            assert compiled.positiontup is not None, "SQLite takes positional parameters"
            binds: dict[str, Callable[[Any], Any]] = {}
            for name, bind in compiled.binds.items():
                convert = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if convert is not None:
                    binds[name] = convert
            results = tuple(
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in getattr(self.statement, "selected_columns", ())
            )
            done = self._compiled = _Compiled(compiled.string, tuple(compiled.positiontup), dict(compiled.params),
                                              binds, results)
        return done

    @staticmethod
    def _run(conn: Connection, compiled: _Compiled, method: str, args: Any) -> Any:
        if not conn.in_transaction():
            conn.begin()  # as SQLAlchemy's autobegin would: `conn.commit()` then commits this
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cursor = raw.cursor()
        dbapi_error = conn.dialect.loaded_dbapi.Error
        try:
            getattr(cursor, method)(compiled.sql, args)
        except dbapi_error as exc:
            raise DBAPIError.instance(compiled.sql, args, exc, dbapi_error, dialect=conn.dialect) from exc
        return cursor
