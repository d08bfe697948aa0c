"""Who acts when: routing order numbers. Equal numbers act in parallel; a higher number waits
until every participant with a lower number has acted. CC participants take no part in routing:
they are notified when the envelope completes. Pure functions over (action, order, status)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from signing.states import ROUTED_ACTIONS, ParticipantStatus

P = ParticipantStatus
DONE = frozenset({P.ACTED, P.DELEGATED})  # a delegated participant's turn passed to the delegate


@dataclass(frozen=True)
class Seat:
    """What routing needs to know of a participant."""

    id: str
    action: str
    order: int | None
    status: ParticipantStatus


def current_order(seats: Sequence[Seat]) -> int | None:
    """The lowest routing number with someone still to act; None when everyone routed has acted."""
    pending = [s.order or 0 for s in seats if s.action in ROUTED_ACTIONS and s.status not in DONE]
    return min(pending) if pending else None


def to_notify(seats: Sequence[Seat]) -> list[str]:
    """The ids of the participants whose turn it is and who have not been notified yet."""
    order = current_order(seats)
    if order is None:
        return []
    return [s.id for s in seats
            if s.action in ROUTED_ACTIONS and (s.order or 0) == order and s.status == P.WAITING]


def is_turn(seats: Sequence[Seat], seat_id: str) -> bool:
    seat = next(s for s in seats if s.id == seat_id)
    return seat.action in ROUTED_ACTIONS and (seat.order or 0) == current_order(seats)


def all_acted(seats: Sequence[Seat]) -> bool:
    return current_order(seats) is None
