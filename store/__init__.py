"""Persistence: SQLModel tables, Alembic migrations, units of work.

SQLite (WAL) by default, PostgreSQL through a database URL. Imports nothing of the project
but the engine's types it persists (`engine.State`, `engine.Interview`).
"""
