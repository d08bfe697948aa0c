"""The tables. Every change to them needs an Alembic revision in `store/migrations/versions/`
(`tests/store/test_migrations.py` fails while the models and the migrations differ)."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_session_id() -> str:
    """Random, URL-safe, unguessable: the id is the applicant's key to the session."""
    return secrets.token_urlsafe(24)


class Firm(SQLModel, table=True):
    __tablename__ = "firm"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))


class InterviewVersion(SQLModel, table=True):
    """One immutable version of an interview file, identified by the engine's `source_hash`."""

    __tablename__ = "interview_version"
    __table_args__ = (UniqueConstraint("firm_id", "content_hash", name="uq_interview_version_firm_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    firm_id: int = Field(sa_column=Column(Integer, ForeignKey("firm.id"), nullable=False, index=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    content_hash: str = Field(sa_column=Column(String(64), nullable=False))
    path: str = Field(sa_column=Column(Text, nullable=False))  # where it was published from
    source: str = Field(sa_column=Column(Text, nullable=False))  # the YAML text of that version
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class Session(SQLModel, table=True):
    """An applicant's session: the engine State without its log (the log is `AnswerEvent` rows)."""

    __tablename__ = "interview_session"

    id: str = Field(default_factory=new_session_id, sa_column=Column(String(64), primary_key=True))
    firm_id: int = Field(sa_column=Column(Integer, ForeignKey("firm.id"), nullable=False, index=True))
    interview_version_id: int = Field(
        sa_column=Column(Integer, ForeignKey("interview_version.id"), nullable=False, index=True)
    )
    lang: str = Field(sa_column=Column(String(16), nullable=False))
    state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))  # optimistic lock


class AnswerEvent(SQLModel, table=True):
    """One acknowledged screen of one session; append-only (never updated, never deleted)."""

    __tablename__ = "answer_event"
    __table_args__ = (UniqueConstraint("session_id", "seq", name="uq_answer_event_session_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: str = Field(sa_column=Column(String(64), ForeignKey("interview_session.id"), nullable=False))
    seq: int = Field(sa_column=Column(Integer, nullable=False))
    block: str = Field(sa_column=Column(Text, nullable=False))
    changes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
