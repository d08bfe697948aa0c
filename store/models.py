"""The tables. Every change to them needs an Alembic revision in `store/migrations/versions/`
(`tests/store/test_migrations.py` fails while the models and the migrations differ)."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_session_id() -> str:
    """Random, URL-safe, unguessable: the id is the applicant's key to the session. Never starting
    with "-", so an operator can pass any id to `accord ...` without the parser taking it for an option."""
    while True:
        token = secrets.token_urlsafe(24)
        if not token.startswith("-"):
            return token


class Firm(SQLModel, table=True):
    __tablename__ = "firm"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))


class Staff(SQLModel, table=True):
    """A firm's staff account (owner, admin, agent, viewer). The e-mail is the login, unique across
    firms so a login never has to ask which firm; the password is an argon2 hash, the TOTP secret
    is needed before the account can do anything."""

    __tablename__ = "staff"

    id: int | None = Field(default=None, primary_key=True)
    firm_id: int = Field(sa_column=Column(Integer, ForeignKey("firm.id"), nullable=False, index=True))
    email: str = Field(sa_column=Column(String(320), nullable=False, unique=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    role: str = Field(default="agent", sa_column=Column(String(16), nullable=False))
    # An agent sees only the applicants assigned to them unless this is set.
    sees_all: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    password_hash: str = Field(sa_column=Column(Text, nullable=False))
    totp_secret: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    failed_logins: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    locked_until: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


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


# The condition of a partial index on `agent_id`: a query with `agent_id = ?` implies it, so both
# SQLite and PostgreSQL use such an index for an agent's list.
_HAS_AGENT: dict[str, Any] = {f"{dialect}_where": text("agent_id IS NOT NULL") for dialect in ("sqlite", "postgresql")}


class Session(SQLModel, table=True):
    """An applicant's session: the engine State without its log (the log is `AnswerEvent` rows)."""

    __tablename__ = "interview_session"
    # The console lists a firm's (or an agent's) sessions by last activity. The agent's indexes
    # hold only sessions that have an agent (`_HAS_AGENT`, migration 0015): every step moves its
    # session in each index holding `updated_at`, and an applicant who started from the firm's
    # link has none to be listed under (`bench/web.py`: two index updates fewer per step).
    __table_args__ = (Index("ix_interview_session_agent_updated", "agent_id", "updated_at", **_HAS_AGENT),
                      # Reports (manage.reports, migration 0008): completions in a date range, read
                      # from the index alone; the funnel's sessions started in a range.
                      Index("ix_interview_session_firm_completed", "firm_id", "completed_at", "created_at"),
                      Index("ix_interview_session_firm_created", "firm_id", "created_at", "id"),
                      # The console's status filters: one index range, in last-activity order (the
                      # firm's, an agent's); the firm's list, search and "stuck" walk the firm's
                      # sessions by last activity reading the index alone until a page is found (a
                      # session row, with its state, is large). It replaces 0004's (firm_id, updated_at).
                      Index("ix_interview_session_firm_stage_updated", "firm_id", "stage", "updated_at"),
                      Index("ix_interview_session_agent_stage_updated", "agent_id", "firm_id", "stage", "updated_at",
                            **_HAS_AGENT),
                      Index("ix_interview_session_firm_activity", "firm_id", "updated_at", "stage", "display_name",
                            "contact_email", "id"))

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
    # Answers typed on the current screen but not yet submitted as a whole (the chat asks a
    # screen's fields one message at a time; "save and continue later" keeps what was typed).
    draft: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    # The agent the applicant belongs to (set when an agent invites them; reassignable).
    agent_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("staff.id"), nullable=True))
    # Denormalised at every acknowledged step so the console's list needs no engine and no log scan:
    # the block the applicant is on, its section, the percent complete, when the interview ended.
    current_block: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    current_section: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    progress: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    # Who the applicant is, as far as the answers say yet (the first party's name and e-mail), so the
    # console can show and search them without reading every session's JSON.
    display_name: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    contact_email: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    completed_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    # Where the console lists it: in_progress, completed, signing, signed, declined, voided, expired
    # (`store.stage`: the interview's side from save_step, the newest envelope's from signing).
    stage: str = Field(default="in_progress", sa_column=Column(String(16), nullable=False,
                                                              server_default="in_progress"))


class AnswerEvent(SQLModel, table=True):
    """One acknowledged screen of one session; append-only (never updated, never deleted)."""

    __tablename__ = "answer_event"
    __table_args__ = (UniqueConstraint("session_id", "seq", name="uq_answer_event_session_seq"),
                      # The funnel report reads (session, seq, time, block) from the index alone,
                      # never the rows with their JSON changes (manage.reports, migration 0008).
                      Index("ix_answer_event_session_seq_at", "session_id", "seq", "at", "block"))

    id: int | None = Field(default=None, primary_key=True)
    session_id: str = Field(sa_column=Column(String(64), ForeignKey("interview_session.id"), nullable=False))
    seq: int = Field(sa_column=Column(Integer, nullable=False))
    block: str = Field(sa_column=Column(Text, nullable=False))
    changes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class AgreementVersion(SQLModel, table=True):
    """One assembly of a session's agreement. Re-assembling after an answer changed adds the next
    version; rows are never updated, so every version and its clause diff stay on record."""

    __tablename__ = "agreement_version"
    __table_args__ = (UniqueConstraint("session_id", "number", name="uq_agreement_version_session_number"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: str = Field(sa_column=Column(String(64), ForeignKey("interview_session.id"), nullable=False,
                                             index=True))
    number: int = Field(sa_column=Column(Integer, nullable=False))  # 1, 2, ... per session
    region: str = Field(sa_column=Column(String(32), nullable=False))
    language: str = Field(sa_column=Column(String(16), nullable=False))
    source: dict[str, Any] = Field(sa_column=Column(JSONType, nullable=False))  # engine.assembly.source_to_json
    source_hash: str = Field(sa_column=Column(String(64), nullable=False))  # SHA-256 of the canonical source JSON
    changes: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    pdf_sha256: str = Field(sa_column=Column(String(64), nullable=False))  # the PDF's bytes are in the blob store
    pages: int = Field(sa_column=Column(Integer, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class Upload(SQLModel, table=True):
    """A file an applicant uploaded (or a drawn signature): the bytes live in the data dir under
    their SHA-256, the row says whose they are and what they claimed to be."""

    __tablename__ = "upload"

    id: str = Field(default_factory=new_session_id, sa_column=Column(String(64), primary_key=True))
    session_id: str = Field(sa_column=Column(String(64), ForeignKey("interview_session.id"), nullable=False,
                                             index=True))
    field: str = Field(sa_column=Column(Text, nullable=False))
    filename: str = Field(sa_column=Column(Text, nullable=False))
    content_type: str = Field(sa_column=Column(String(200), nullable=False))
    size: int = Field(sa_column=Column(Integer, nullable=False))
    sha256: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class Envelope(SQLModel, table=True):
    """An agreement version sent for signing. Status and seal follow `signing.states`."""

    __tablename__ = "envelope"
    # The console (manage.applicants, migration 0008): a session's newest envelope; a firm's
    # envelopes in a status; envelopes completed in a date range (reports).
    __table_args__ = (Index("ix_envelope_session_created", "session_id", "created_at"),
                      Index("ix_envelope_firm_status", "firm_id", "status", "sent_at", "session_id", "id"),
                      Index("ix_envelope_firm_completed", "firm_id", "completed_at", "sent_at"))

    id: str = Field(default_factory=new_session_id, sa_column=Column(String(64), primary_key=True))
    firm_id: int = Field(sa_column=Column(Integer, ForeignKey("firm.id"), nullable=False, index=True))
    session_id: str | None = Field(default=None, sa_column=Column(String(64), ForeignKey("interview_session.id"),
                                                                  nullable=True, index=True))
    agreement_version_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("agreement_version.id"),
                                                                            nullable=True))
    title: str = Field(sa_column=Column(Text, nullable=False))
    language: str = Field(sa_column=Column(String(16), nullable=False))
    status: str = Field(default="draft", sa_column=Column(String(16), nullable=False))
    seal_status: str = Field(default="none", sa_column=Column(String(16), nullable=False))
    seal_attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    seal_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    original_sha256: str = Field(sa_column=Column(String(64), nullable=False))  # the unsigned PDF (blob store)
    current_sha256: str = Field(sa_column=Column(String(64), nullable=False))  # its latest revision
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    sent_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    completed_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    expires_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    expiry_warned_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True),
                                                                               nullable=True))
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # why declined / voided
    version: int = Field(default=1, sa_column=Column(Integer, nullable=False))  # optimistic lock


class Participant(SQLModel, table=True):
    """One party of an envelope: its role, action, routing order, contact and progress."""

    __tablename__ = "participant"
    # The console's "failed codes" flag reads a sent envelope's participants from the index alone.
    __table_args__ = (Index("ix_participant_envelope_status", "envelope_id", "status", "id"),)

    id: str = Field(default_factory=new_session_id, sa_column=Column(String(64), primary_key=True))
    envelope_id: str = Field(sa_column=Column(String(64), ForeignKey("envelope.id"), nullable=False, index=True))
    role: str = Field(sa_column=Column(String(100), nullable=False))
    action: str = Field(sa_column=Column(String(16), nullable=False))
    routing_order: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    email: str = Field(sa_column=Column(Text, nullable=False))
    phone: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    identity: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    status: str = Field(default="waiting", sa_column=Column(String(16), nullable=False))
    delegated_from: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    notified_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    opened_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    identified_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    consented_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    acted_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    declined_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    reminded_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    reminders: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # decline / delegation reason
    witness_for: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))  # a signer's role


class AuditEvent(SQLModel, table=True):
    """Append-only; each event carries the hash of the envelope's previous event (`signing.audit`)."""

    __tablename__ = "audit_event"
    __table_args__ = (UniqueConstraint("envelope_id", "seq", name="uq_audit_event_envelope_seq"),
                      # An envelope's last event from the index alone (the console's "idle" signing).
                      Index("ix_audit_event_envelope_at", "envelope_id", "at"))

    id: int | None = Field(default=None, primary_key=True)
    envelope_id: str = Field(sa_column=Column(String(64), ForeignKey("envelope.id"), nullable=False, index=True))
    seq: int = Field(sa_column=Column(Integer, nullable=False))
    at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    actor: str = Field(sa_column=Column(Text, nullable=False))  # participant id, "sender" or "system"
    action: str = Field(sa_column=Column(String(64), nullable=False))
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    ip: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    user_agent: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    doc_before: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    doc_after: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    prev_hash: str = Field(sa_column=Column(String(64), nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False))


class IdentityChallenge(SQLModel, table=True):
    """One one-time code sent to a participant: only its HMAC is kept; attempts are counted."""

    __tablename__ = "identity_challenge"
    # The console's "failed codes" flag: a participant's attempts from the index alone.
    __table_args__ = (Index("ix_identity_challenge_participant_attempts", "participant_id", "attempts",
                            "verified_at"),)

    id: int | None = Field(default=None, primary_key=True)
    participant_id: str = Field(sa_column=Column(String(64), ForeignKey("participant.id"), nullable=False,
                                                 index=True))
    method: str = Field(sa_column=Column(String(32), nullable=False))
    code_hash: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    verified_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class ConsoleAction(SQLModel, table=True):
    """One thing a staff member did to an applicant from the console (invite, resend, remind,
    extend, void, reassign, retry an on-completion action) or to the firm's webhooks (no session):
    append-only, so the firm can always see who did what and when.
    Envelope actions also land in the envelope's own hash-chained audit trail; this table covers
    the applicant's side, which has no envelope yet when the link is first sent."""

    __tablename__ = "console_action"
    __table_args__ = (Index("ix_console_action_session_at", "session_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    firm_id: int = Field(sa_column=Column(Integer, ForeignKey("firm.id"), nullable=False, index=True))
    staff_id: int = Field(sa_column=Column(Integer, ForeignKey("staff.id"), nullable=False))
    # None for an action on the firm's webhooks (add, rotate, enable, … `detail` names the endpoint).
    session_id: str | None = Field(default=None, sa_column=Column(String(64), ForeignKey("interview_session.id"),
                                                                  nullable=True))
    envelope_id: str | None = Field(default=None, sa_column=Column(String(64), ForeignKey("envelope.id"),
                                                                   nullable=True))
    action: str = Field(sa_column=Column(String(32), nullable=False))
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class PasskeyCredential(SQLModel, table=True):
    """A WebAuthn credential (passkey) of a signer, registered after their e-mail code proved the
    address; later envelopes of the same firm to the same address authenticate with it."""

    __tablename__ = "passkey_credential"
    __table_args__ = (UniqueConstraint("credential_id", name="uq_passkey_credential_id"),
                      Index("ix_passkey_credential_firm_email", "firm_id", "email"))

    id: int | None = Field(default=None, primary_key=True)
    firm_id: int = Field(sa_column=Column(Integer, ForeignKey("firm.id"), nullable=False))
    email: str = Field(sa_column=Column(String(320), nullable=False))  # lower-cased
    participant_id: str = Field(sa_column=Column(String(64), ForeignKey("participant.id"), nullable=False))
    credential_id: str = Field(sa_column=Column(Text, nullable=False))  # base64url
    public_key: str = Field(sa_column=Column(Text, nullable=False))  # base64url COSE key
    sign_count: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    last_used_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class OutboxEvent(SQLModel, table=True):
    """A domain event, written in the same transaction as the change it reports (`store.outbox`);
    `jobs` fans it out to webhooks and `on completion` actions after the commit. Append-only.
    `agreement_id` is the session the agreement belongs to (the envelope's id for an envelope made
    without a session); `seq` counts that agreement's events from 1, so receivers can order them."""

    __tablename__ = "outbox_event"
    __table_args__ = (UniqueConstraint("agreement_id", "seq", name="uq_outbox_event_agreement_seq"),
                      Index("ix_outbox_event_undispatched", "dispatched_at", "id"))

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(sa_column=Column(String(40), nullable=False, unique=True))
    firm_id: int = Field(sa_column=Column(Integer, ForeignKey("firm.id"), nullable=False, index=True))
    type: str = Field(sa_column=Column(String(64), nullable=False))
    agreement_id: str = Field(sa_column=Column(String(64), nullable=False))
    seq: int = Field(sa_column=Column(Integer, nullable=False))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    created_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    dispatched_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class IntegrationSettings(SQLModel, table=True):
    """A firm's settings for outbound calls. Private and loopback webhook targets are refused
    unless `allow_private_targets` is set (a firm whose receivers are on its own network)."""

    __tablename__ = "integration_settings"

    firm_id: int = Field(sa_column=Column(Integer, ForeignKey("firm.id"), primary_key=True, autoincrement=False))
    allow_private_targets: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))


class WebhookEndpoint(SQLModel, table=True):
    """A firm's webhook receiver: the URL, the event types it wants (`*`, `envelope.*`, exact names)
    and its state. Disabled automatically after failing without a success for `jobs.webhooks.DISABLE_AFTER`."""

    __tablename__ = "webhook_endpoint"

    id: int | None = Field(default=None, primary_key=True)
    firm_id: int = Field(sa_column=Column(Integer, ForeignKey("firm.id"), nullable=False, index=True))
    url: str = Field(sa_column=Column(Text, nullable=False))
    events: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    disabled_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    failing_since: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    consecutive_failures: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class WebhookSecret(SQLModel, table=True):
    """A signing secret of an endpoint. Several may be active at once (rotation): every active one
    signs each delivery (one `v1=` per secret); an old one stops at `expires_at`. The secret is
    stored encrypted (`store.secretbox`, column `secret`): read it with `integrations.webhooks.secret_of`."""

    __tablename__ = "webhook_secret"

    id: int | None = Field(default=None, primary_key=True)
    endpoint_id: int = Field(sa_column=Column(Integer, ForeignKey("webhook_endpoint.id"), nullable=False, index=True))
    sealed: str = Field(sa_column=Column("secret", Text, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))


class Delivery(SQLModel, table=True):
    """One event to one consumer: a webhook endpoint (`kind = webhook`) or one of the interview's
    `on completion` actions (`kind = action`, `action_index`). Retried with backoff until
    `delivered` or `failed`; for one consumer, an agreement's events go out in `seq` order."""

    __tablename__ = "delivery"
    __table_args__ = (Index("ix_delivery_due", "status", "next_attempt_at"),
                      UniqueConstraint("outbox_id", "kind", "endpoint_id", "action_index", name="uq_delivery_target"))

    id: int | None = Field(default=None, primary_key=True)
    firm_id: int = Field(sa_column=Column(Integer, ForeignKey("firm.id"), nullable=False, index=True))
    outbox_id: int = Field(sa_column=Column(Integer, ForeignKey("outbox_event.id"), nullable=False, index=True))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    endpoint_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("webhook_endpoint.id"),
                                                                   nullable=True, index=True))
    action_index: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    agreement_id: str = Field(sa_column=Column(String(64), nullable=False))
    seq: int = Field(sa_column=Column(Integer, nullable=False))
    status: str = Field(default="pending", sa_column=Column(String(16), nullable=False))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    next_attempt_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    locked_until: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    first_attempt_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True),
                                                                               nullable=True))
    delivered_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class DeliveryAttempt(SQLModel, table=True):
    """The delivery log: what was sent (URL, headers, body) and what came back, per attempt."""

    __tablename__ = "delivery_attempt"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(sa_column=Column(Integer, ForeignKey("delivery.id"), nullable=False, index=True))
    at: dt.datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    request: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    response_status: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    response_body: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    ok: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    duration_ms: int = Field(default=0, sa_column=Column(Integer, nullable=False))


class Payment(SQLModel, table=True):
    """The payment step of an envelope (`signing.payment`): what the interview's `payment` block asked
    (amount in the currency's minor unit, who pays, when), its status (due, paid, refunded), the
    provider's ids, and the last failure's code (shown to the payer, e.g. card_declined)."""

    __tablename__ = "payment"

    id: str = Field(default_factory=new_session_id, sa_column=Column(String(64), primary_key=True))
    envelope_id: str = Field(sa_column=Column(String(64), ForeignKey("envelope.id"), nullable=False, unique=True))
    participant_id: str = Field(sa_column=Column(String(64), ForeignKey("participant.id"), nullable=False))
    amount_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(sa_column=Column(String(3), nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    when: str = Field(sa_column=Column(String(32), nullable=False))  # before signing, after signing, on completion
    status: str = Field(default="due", sa_column=Column(String(32), nullable=False))  # due, paid, (partially_)refunded
    provider: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    checkout_id: str | None = Field(default=None, sa_column=Column(String(255), nullable=True, index=True))
    checkout_attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    payment_intent: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    last_error: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    paid_at: dt.datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    refunded_minor: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))


class PaymentEvent(SQLModel, table=True):
    """A provider's webhook event, kept once: the unique (provider, event id) makes a redelivery a no-op."""

    __tablename__ = "payment_event"
    __table_args__ = (UniqueConstraint("provider", "event_id", name="uq_payment_event_provider_event"),)

    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(sa_column=Column(String(32), nullable=False))
    event_id: str = Field(sa_column=Column(String(255), nullable=False))
    type: str = Field(sa_column=Column(String(100), nullable=False))
    payment_id: str | None = Field(default=None, sa_column=Column(String(64), ForeignKey("payment.id"),
                                                                  nullable=True, index=True))
    outcome: str = Field(sa_column=Column(String(32), nullable=False))  # applied, ignored, unknown payment, ...
    received_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True),
                                                                              nullable=False))


class PaymentRefund(SQLModel, table=True):
    """A refund a staff member made, with the reason (also in the audit chain)."""

    __tablename__ = "payment_refund"

    id: str = Field(default_factory=new_session_id, sa_column=Column(String(64), primary_key=True))
    payment_id: str = Field(sa_column=Column(String(64), ForeignKey("payment.id"), nullable=False, index=True))
    amount_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    staff: str = Field(sa_column=Column(Text, nullable=False))  # who made it (the console's login, or the CLI user)
    status: str = Field(default="pending", sa_column=Column(String(16), nullable=False))  # pending, succeeded, failed
    provider_refund_id: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))
