"""Firm scoping for the console: every console query goes through a `Scope`, made from the
logged-in staff member, so the firm (and, for an agent who sees only their own applicants, the
agent) is part of the SQL itself. A route that forgets to check still cannot reach another
firm's row: the scoped lookup simply finds nothing (the console answers 404).

Roles (`manage.staff.ROLES`): owner and admin see and act on all of the firm's applicants; an
agent sees and acts on their own (all of the firm's with `sees_all`); a viewer sees all of the
firm's and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import Session as DB
from sqlmodel import col, select

from store.models import ConsoleAction, Envelope, InterviewVersion, Staff
from store.models import Session as SessionRow

WRITERS = ("owner", "admin", "agent")


class Forbidden(Exception):
    """The staff member may see this but not change it (a viewer)."""


@dataclass(frozen=True)
class Scope:
    staff_id: int
    firm_id: int
    role: str
    sees_all: bool

    @classmethod
    def of(cls, staff: Staff) -> Scope:
        assert staff.id is not None
        return cls(staff.id, staff.firm_id, staff.role, staff.sees_all)

    # -- who sees what ---------------------------------------------------------------------------

    @property
    def agent_filter(self) -> int | None:
        """The agent whose applicants this scope is limited to (None: the whole firm)."""
        return self.staff_id if self.role == "agent" and not self.sees_all else None

    @property
    def can_write(self) -> bool:
        return self.role in WRITERS

    def require_write(self) -> None:
        if not self.can_write:
            raise Forbidden("this account can look but not change anything")

    def _sessions(self) -> ColumnElement[bool]:
        cond = col(SessionRow.firm_id) == self.firm_id
        agent = self.agent_filter
        return and_(cond, col(SessionRow.agent_id) == agent) if agent is not None else cond

    # -- lookups (None when the object is not this scope's) ---------------------------------------

    def session(self, db: DB, session_id: str) -> SessionRow | None:
        return db.exec(select(SessionRow).where(col(SessionRow.id) == session_id, self._sessions())).first()

    def envelope(self, db: DB, envelope_id: str) -> Envelope | None:
        """The envelope, if it is the firm's and (for a limited agent) belongs to one of their applicants."""
        stmt = select(Envelope).where(col(Envelope.id) == envelope_id, col(Envelope.firm_id) == self.firm_id)
        agent = self.agent_filter
        if agent is not None:
            stmt = stmt.where(col(Envelope.session_id).in_(
                select(SessionRow.id).where(self._sessions())))
        return db.exec(stmt).first()

    def envelopes_of(self, db: DB, session_id: str) -> list[Envelope]:
        if self.session(db, session_id) is None:
            return []
        return list(db.exec(select(Envelope).where(col(Envelope.session_id) == session_id,
                                                   col(Envelope.firm_id) == self.firm_id)
                            .order_by(col(Envelope.created_at).desc())).all())

    def staff_member(self, db: DB, staff_id: int) -> Staff | None:
        return db.exec(select(Staff).where(col(Staff.id) == staff_id, col(Staff.firm_id) == self.firm_id)).first()

    def staff_list(self, db: DB) -> list[Staff]:
        """Every account of the firm (active or not), by name."""
        return list(db.exec(select(Staff).where(col(Staff.firm_id) == self.firm_id).order_by(col(Staff.name))).all())

    def assignable(self, db: DB) -> list[Staff]:
        """Whom an applicant can be given to: the firm's active owners, admins and agents."""
        return list(db.exec(select(Staff).where(col(Staff.firm_id) == self.firm_id, col(Staff.active).is_(True),
                                                col(Staff.role) != "viewer").order_by(col(Staff.name))).all())

    def interviews(self, db: DB) -> list[str]:
        rows = db.exec(select(InterviewVersion.name).where(col(InterviewVersion.firm_id) == self.firm_id)
                       .distinct().order_by(col(InterviewVersion.name))).all()
        return list(rows)

    def latest_version(self, db: DB, name: str) -> InterviewVersion | None:
        return db.exec(select(InterviewVersion).where(col(InterviewVersion.firm_id) == self.firm_id,
                                                      col(InterviewVersion.name) == name)
                       .order_by(col(InterviewVersion.id).desc())).first()

    def actions_of(self, db: DB, session_id: str) -> list[tuple[ConsoleAction, str]]:
        """What staff did to this applicant, oldest first, with the name of who did it."""
        if self.session(db, session_id) is None:
            return []
        rows = db.exec(select(ConsoleAction, Staff.name).join(Staff, and_(col(Staff.id) == ConsoleAction.staff_id))
                       .where(col(ConsoleAction.session_id) == session_id,
                              col(ConsoleAction.firm_id) == self.firm_id)
                       .order_by(col(ConsoleAction.at), col(ConsoleAction.id))).all()
        return [(a, n) for a, n in rows]

    # -- the list and the detail (manage.applicants) ------------------------------------------------

    def applicants(self, db: DB, **filters: Any) -> Any:
        from manage.applicants import list_applicants

        return list_applicants(db, self.firm_id, agent_id=self.agent_filter, **filters)

    def applicant(self, db: DB, session_id: str, **options: Any) -> Any:
        from manage.applicants import applicant_detail

        if self.session(db, session_id) is None:
            return None
        return applicant_detail(db, self.firm_id, session_id, **options)


def search_condition(text: str) -> ColumnElement[bool]:
    """Name or e-mail containing `text` (kept here for callers outside the list)."""
    like = f"%{text.lower()}%"
    return or_(col(SessionRow.display_name).ilike(like), col(SessionRow.contact_email).ilike(like))
