"""Who acts when: routing order numbers. Equal numbers act in parallel; a higher number waits
until every participant with a lower number has acted. CC participants take no part in routing:
they are notified when the envelope completes. A witness bound to a signer (`waits_for`) shares the
signer's order but is notified only once that signer has acted: it is routed right after them, and
the next order waits for it too. Pure functions over (action, order, status)."""

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
    waits_for: str | None = None  # a witness: the seat of the signer it witnesses


def current_order(seats: Sequence[Seat]) -> int | None:
    """The lowest routing number with someone still to act; None when everyone routed has acted."""
    pending = [s.order or 0 for s in seats if s.action in ROUTED_ACTIONS and s.status not in DONE]
    return min(pending) if pending else None


def to_notify(seats: Sequence[Seat]) -> list[str]:
    """The ids of the participants whose turn it is and who have not been notified yet."""
    order = current_order(seats)
    if order is None:
        return []
    status = {s.id: s.status for s in seats}
    return [s.id for s in seats
            if s.action in ROUTED_ACTIONS and (s.order or 0) == order and s.status == P.WAITING
            and (s.waits_for is None or status.get(s.waits_for) in DONE)]


def is_turn(seats: Sequence[Seat], seat_id: str) -> bool:
    seat = next(s for s in seats if s.id == seat_id)
    if seat.waits_for is not None and next((s.status for s in seats if s.id == seat.waits_for), None) not in DONE:
        return False
    return seat.action in ROUTED_ACTIONS and (seat.order or 0) == current_order(seats)


def all_acted(seats: Sequence[Seat]) -> bool:
    return current_order(seats) is None
