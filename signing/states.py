"""The envelope's and each participant's states, and the transitions allowed between them.

Pure data: `signing.envelopes` checks every change against these tables before it writes it (and
its audit event), so an envelope can never jump, say, from declined back to sent.

Envelope: draft → sent → completed, or declined (a participant declines), voided (the sender
voids), expired (the expiry date passed). Sealing is a separate axis (`SealStatus`): a completed
envelope whose seal failed stays completed with its seal `pending`, retried, never stuck.

Participant: waiting → notified → opened → identified → acted, or declined (from any step before
acted). A CC participant goes waiting → notified when the envelope completes (they receive the
result); a delegated participant ends as `delegated` and the delegate takes over their place.
"""

from __future__ import annotations

from enum import StrEnum


class EnvelopeStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    COMPLETED = "completed"
    DECLINED = "declined"
    VOIDED = "voided"
    EXPIRED = "expired"


class ParticipantStatus(StrEnum):
    WAITING = "waiting"
    NOTIFIED = "notified"
    OPENED = "opened"
    IDENTIFIED = "identified"
    ACTED = "acted"
    DECLINED = "declined"
    DELEGATED = "delegated"


class SealStatus(StrEnum):
    NONE = "none"  # not completed yet
    PENDING = "pending"  # completed, seal to be applied (again, after a failure)
    SEALED = "sealed"


E, P = EnvelopeStatus, ParticipantStatus

ENVELOPE_TRANSITIONS: dict[EnvelopeStatus, frozenset[EnvelopeStatus]] = {
    E.DRAFT: frozenset({E.SENT, E.VOIDED}),
    E.SENT: frozenset({E.COMPLETED, E.DECLINED, E.VOIDED, E.EXPIRED}),
    E.COMPLETED: frozenset(),
    E.DECLINED: frozenset(),
    E.VOIDED: frozenset(),
    E.EXPIRED: frozenset(),
}

PARTICIPANT_TRANSITIONS: dict[ParticipantStatus, frozenset[ParticipantStatus]] = {
    P.WAITING: frozenset({P.NOTIFIED, P.DELEGATED}),
    P.NOTIFIED: frozenset({P.OPENED, P.DECLINED, P.DELEGATED}),
    P.OPENED: frozenset({P.IDENTIFIED, P.DECLINED, P.DELEGATED}),
    P.IDENTIFIED: frozenset({P.ACTED, P.DECLINED}),
    P.ACTED: frozenset(),
    P.DECLINED: frozenset(),
    P.DELEGATED: frozenset(),
}

# Actions that take part in routing (CC only receives the result; a witness acts with its signer's order).
ROUTED_ACTIONS = frozenset({"sign", "approve", "review", "witness"})
SIGNING_ACTIONS = frozenset({"sign", "witness"})


class TransitionError(Exception):
    """A change the state machine does not allow (the message names both states)."""


def check_envelope(old: EnvelopeStatus, new: EnvelopeStatus) -> None:
    if new not in ENVELOPE_TRANSITIONS[old]:
        raise TransitionError(f"an envelope cannot go from {old} to {new}")


def check_participant(old: ParticipantStatus, new: ParticipantStatus) -> None:
    if new not in PARTICIPANT_TRANSITIONS[old]:
        raise TransitionError(f"a participant cannot go from {old} to {new}")
