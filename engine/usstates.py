"""US states as data: docassemble's `states_list()` and the `us` package's `us.states`.

Interviews may `imports: - us` (a pure-data package docassemble interviews commonly use);
the sandbox offers this read-only stand-in instead of importing anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STATES: tuple[tuple[str, str], ...] = (
    ("AL", "Alabama"), ("AK", "Alaska"), ("AZ", "Arizona"), ("AR", "Arkansas"), ("CA", "California"),
    ("CO", "Colorado"), ("CT", "Connecticut"), ("DE", "Delaware"), ("DC", "District of Columbia"),
    ("FL", "Florida"), ("GA", "Georgia"), ("HI", "Hawaii"), ("ID", "Idaho"), ("IL", "Illinois"),
    ("IN", "Indiana"), ("IA", "Iowa"), ("KS", "Kansas"), ("KY", "Kentucky"), ("LA", "Louisiana"),
    ("ME", "Maine"), ("MD", "Maryland"), ("MA", "Massachusetts"), ("MI", "Michigan"), ("MN", "Minnesota"),
    ("MS", "Mississippi"), ("MO", "Missouri"), ("MT", "Montana"), ("NE", "Nebraska"), ("NV", "Nevada"),
    ("NH", "New Hampshire"), ("NJ", "New Jersey"), ("NM", "New Mexico"), ("NY", "New York"),
    ("NC", "North Carolina"), ("ND", "North Dakota"), ("OH", "Ohio"), ("OK", "Oklahoma"), ("OR", "Oregon"),
    ("PA", "Pennsylvania"), ("RI", "Rhode Island"), ("SC", "South Carolina"), ("SD", "South Dakota"),
    ("TN", "Tennessee"), ("TX", "Texas"), ("UT", "Utah"), ("VT", "Vermont"), ("VA", "Virginia"),
    ("WA", "Washington"), ("WV", "West Virginia"), ("WI", "Wisconsin"), ("WY", "Wyoming"),
)


def states_list(country_code: str = "US", abbreviate: bool = False) -> dict[str, str]:
    """Abbreviation -> name, the value docassemble's `states_list()` gives for the US."""
    return {abbr: (abbr if abbreviate else name) for abbr, name in STATES}


@dataclass(frozen=True)
class State:
    abbr: str
    name: str

    def __str__(self) -> str:
        return self.name


class _States:
    STATES = tuple(State(a, n) for a, n in STATES)

    def mapping(self, from_field: str, to_field: str) -> dict[Any, Any]:
        return {getattr(s, from_field): getattr(s, to_field) for s in self.STATES}

    def lookup(self, value: str) -> State | None:
        for s in self.STATES:
            if value.upper() == s.abbr or value.lower() == s.name.lower():
                return s
        return None


class UsModule:
    states = _States()


MODULES: dict[str, Any] = {"us": UsModule()}
