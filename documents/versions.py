"""Clause-by-clause comparison of two assembled agreements (pure: no I/O).

Clauses are matched by id. A clause is *added* or *removed* when only one side has it, *changed*
when both have it and its title, text, region or version differ. Renumbering alone (a clause added
before it) is not a change. Each change carries a unified diff of the clause text (difflib, one line
per line of text; added and removed clauses diff against nothing).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

from engine import AgreementSource
from engine.assembly import AssembledClause


@dataclass(frozen=True)
class ClauseChange:
    kind: Literal["added", "removed", "changed"]
    id: str
    title: str  # the new title (the old one for a removed clause)
    old_number: int | None
    new_number: int | None
    old_region: str | None
    old_version: int | None
    new_region: str | None
    new_version: int | None
    diff: str  # unified diff of the text ("" when only the region/version/title changed)


def _label(clause: AssembledClause | None, side: str) -> str:
    if clause is None:
        return side
    return f"{side}/{clause.id} ({clause.region} v{clause.version})"


def _diff(old: AssembledClause | None, new: AssembledClause | None) -> str:
    before = old.text.splitlines() if old is not None else []
    after = new.text.splitlines() if new is not None else []
    return "\n".join(difflib.unified_diff(before, after, _label(old, "old"), _label(new, "new"), lineterm=""))


def diff_agreements(old: AgreementSource, new: AgreementSource) -> list[ClauseChange]:
    """The clause changes from `old` to `new`, in the new agreement's order; removed clauses come
    right after the clause that preceded them in the old agreement (first when none did)."""
    olds = {c.id: c for c in old.clauses}
    news = {c.id: c for c in new.clauses}
    changes: list[tuple[float, ClauseChange]] = []
    for clause in new.clauses:
        before = olds.get(clause.id)
        if before is None:
            changes.append((clause.number, _change("added", before, clause)))
        elif (before.text, before.title, before.region, before.version) != (clause.text, clause.title, clause.region,
                                                                           clause.version):
            changes.append((clause.number, _change("changed", before, clause)))
    position = 0.0
    for clause in old.clauses:
        if clause.id in news:
            position = float(news[clause.id].number)
        else:
            position += 0.001
            changes.append((position, _change("removed", clause, None)))
    return [change for _key, change in sorted(changes, key=lambda item: item[0])]


def _change(kind: Literal["added", "removed", "changed"], old: AssembledClause | None,
            new: AssembledClause | None) -> ClauseChange:
    either = new if new is not None else old
    assert either is not None
    return ClauseChange(
        kind=kind, id=either.id, title=either.title,
        old_number=old.number if old else None, new_number=new.number if new else None,
        old_region=old.region if old else None, old_version=old.version if old else None,
        new_region=new.region if new else None, new_version=new.version if new else None,
        diff=_diff(old, new) if (old is None or new is None or old.text != new.text) else "")
