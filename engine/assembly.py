"""Assemble an agreement's source from a finished session: the clauses of the signer's region
in effect on the agreement date, their texts rendered with the answers, the parties who act and
the payment, all as data. Rendering it (Typst, PDF, HTML preview) belongs to `documents/`.

The same answers, library and date always give the same source; `clause_record` is what an
agreement stores to say which clause versions it used.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from engine import clauses
from engine.context import ScreenReady
from engine.errors import InterviewError, Problem
from engine.functions import CONTEXT
from engine.interview import Interview
from engine.state import State


@dataclass(frozen=True)
class AssembledClause:
    number: int
    id: str
    title: str
    region: str
    version: int
    effective_from: dt.date
    text: str


@dataclass(frozen=True)
class AssembledParty:
    role: str
    action: str
    order: int | None
    name: str | None
    email: str | None
    phone: str | None
    staff: str | None
    identity: tuple[str, ...]
    witness_for: str | None = None  # the role of the signer a witness is bound to


@dataclass(frozen=True)
class AgreementSource:
    title: str
    template: str
    region: str
    date: dt.date
    language: str
    clauses: tuple[AssembledClause, ...]
    parties: tuple[AssembledParty, ...]
    payment: dict[str, Any] | None = None
    clause_record: tuple[dict[str, Any], ...] = field(default=())


def library_for(interview: Interview) -> clauses.Library | None:
    agreement = interview.accord.agreement
    if agreement is None or not agreement.clauses:
        return None
    base = interview.path.parent if interview.path else Path(".")
    return clauses.load_library(base / agreement.clauses)


def check_clauses(interview: Interview) -> list[Problem]:
    """`accord check`: the clause library the agreement names, against this interview."""
    library = library_for(interview)
    if library is None:
        return []
    return clauses.check(library, interview.languages_used(), interview.defined_names())


def assemble(interview: Interview, state: State, day: dt.date | None = None,
             library: clauses.Library | None = None) -> AgreementSource:
    """The agreement for a session whose interview has reached its end. Raises InterviewError
    when an answer the agreement needs is missing, or when the interview makes no agreement."""
    from engine.planner import _Run  # the planner's evaluation context, without planning

    agreement = interview.accord.agreement
    if agreement is None:
        raise InterviewError("this interview has no `agreement` block")
    library = library if library is not None else library_for(interview)
    run = _Run(interview, state)
    try:
        if agreement.condition is not None and not run.eval(agreement.condition):
            raise InterviewError("this session makes no agreement (the agreement's `if:` is false)")
        region = str(run.eval(agreement.region))
        when = run.eval(agreement.date) if agreement.date is not None else (day or dt.date.today())
        when = day or (when.date() if isinstance(when, dt.datetime) else when)
        language = str(run.eval(agreement.language)) if agreement.language is not None else state.lang
        CONTEXT.language = language  # amounts and dates format in the agreement's language, not the session's
        title = run.render(agreement.title).strip() if agreement.title is not None else interview.title
        chosen: list[AssembledClause] = []
        record: list[dict[str, Any]] = []
        if library is not None:
            if library.problems:
                raise InterviewError(f"the clause library has problems: {library.problems[0]}")
            for clause in clauses.select(library, region, when, language):
                if clause.condition is not None and not run.eval(clause.condition):
                    continue
                text = run.render(clause.text).strip()
                chosen.append(AssembledClause(len(chosen) + 1, clause.id, clause.title, clause.region,
                                              clause.version, clause.effective_from, text))
                record.append({"id": clause.id, "region": clause.region, "version": clause.version,
                               "language": clause.language, "effective_from": clause.effective_from.isoformat()})
        parties: list[AssembledParty] = []
        for p in interview.accord.parties:
            if p.condition is not None and not run.eval(p.condition):
                continue
            values = [None if e is None else str(run.eval(e)) for e in (p.name, p.email, p.phone)]
            parties.append(AssembledParty(p.role, p.action, p.order, values[0], values[1], values[2], p.staff,
                                          tuple(p.identity), p.witness_for))
        present = {p.role for p in parties}  # a witness whose signer is left out (`if:`) is left out too
        parties = [p for p in parties if p.witness_for is None or p.witness_for in present]
        payment = None
        pay = interview.accord.payment
        if pay is not None and (pay.condition is None or run.eval(pay.condition)):
            payment = {"amount": run.eval(pay.amount), "currency": pay.currency, "payer": pay.payer,
                       "when": pay.when, "description": run.render(pay.description).strip() if pay.description else ""}
    except ScreenReady as ready:
        raise InterviewError(f"the agreement needs {ready.screen.sought or ready.screen.block_id}, which the "
                             "session has not answered yet") from None
    finally:
        state.namespace.pop("__builtins__", None)
    return AgreementSource(title=title, template=agreement.template, region=region, date=when, language=language,
                           clauses=tuple(chosen), parties=tuple(parties), payment=payment,
                           clause_record=tuple(record))


def source_to_json(source: AgreementSource) -> dict[str, Any]:
    """A JSON-safe record of the source (dates as ISO strings), kept with every agreement version."""
    record = asdict(source)
    record["date"] = source.date.isoformat()
    for clause in record["clauses"]:
        clause["effective_from"] = clause["effective_from"].isoformat()
    for party in record["parties"]:
        party["identity"] = list(party["identity"])
    record["clauses"] = list(record["clauses"])
    record["parties"] = list(record["parties"])
    record["clause_record"] = list(record["clause_record"])
    if source.payment is not None:
        record["payment"] = {k: (str(v) if not isinstance(v, str | int | float | bool | None) else v)
                             for k, v in source.payment.items()}
    return record


def source_from_json(record: dict[str, Any]) -> AgreementSource:
    """The inverse of `source_to_json` (a payment amount comes back as its string form)."""
    clauses_ = tuple(AssembledClause(**{**c, "effective_from": dt.date.fromisoformat(c["effective_from"])})
                     for c in record["clauses"])
    parties = tuple(AssembledParty(**{**p, "identity": tuple(p["identity"])}) for p in record["parties"])
    return AgreementSource(title=record["title"], template=record["template"], region=record["region"],
                           date=dt.date.fromisoformat(record["date"]), language=record["language"],
                           clauses=clauses_, parties=parties, payment=record.get("payment"),
                           clause_record=tuple(record.get("clause_record") or ()))
