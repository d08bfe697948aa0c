"""`accord assemble`: the agreement a set of saved answers produces, for firms testing their
clause library, agreement block and template.

It prints the assembled source as Markdown: title, the clauses chosen (with the region and
version of each, and the rule that chose it), the parties and the payment. With `--out X.pdf` it
renders the PDF instead (documents/: the interview's Typst template, empty signature fields) and
prints its SHA-256. The PDF's timestamp is the agreement date (midnight UTC), so the same answers
and date always give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from dateutil.relativedelta import relativedelta

from accord.i18n import translator
from engine import AgreementSource, Interview, InterviewError, State, assemble


def run(interview: Interview, answers_file: Path, lang: str, day: dt.date | None, out: Path | None) -> int:
    _ = translator(lang)
    try:
        data = json.loads(answers_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print("accord: " + _("cannot read the answers: {error}").format(error=exc), file=sys.stderr)
        return 1
    state = State.from_json({"answers": data if isinstance(data, dict) else {}, "lang": lang})
    try:
        source = assemble(interview, state, day=day)
    except InterviewError as exc:
        print("accord: " + _("cannot assemble: {error}").format(error=exc), file=sys.stderr)
        return 1
    if out is not None and out.suffix.lower() == ".pdf":
        return write_pdf(interview, state, source, out, lang)
    text = markdown(source, lang)
    if out is None:
        print(text)
    else:
        out.write_text(text, encoding="utf-8")
        print(_("wrote {path}").format(path=out))
    return 0


def write_pdf(interview: Interview, state: State, source: AgreementSource, out: Path, lang: str) -> int:
    _ = translator(lang)
    from documents import RenderError, render_pdf, template_path

    base = interview.path if interview.path is not None else Path("interview.yml")
    try:
        document = render_pdf(source, template_path(base, source.template), extra=extras(state, source),
                              timestamp=dt.datetime.combine(source.date, dt.time(0), dt.UTC))
    except (RenderError, ValueError) as exc:
        print("accord: " + _("cannot render the PDF: {error}").format(error=exc), file=sys.stderr)
        return 1
    try:
        out.write_bytes(document.pdf)
    except OSError as exc:
        print("accord: " + _("cannot write {path}: {error}").format(path=out, error=exc.strerror or exc),
              file=sys.stderr)
        return 1
    print(_("wrote {path}").format(path=out))
    print(_("{pages} pages, signature fields: {fields}").format(pages=document.pages,
                                                               fields=", ".join(document.signature_fields)))
    print(f"SHA-256: {document.sha256}")
    return 0


# Answers that give a loan's repayment schedule, in order of preference (the loan interview: the
# officer's approved APR when known, else the estimate; `term_months` is the computed whole term).
AMOUNT_NAMES = ("approved_amount", "loan_amount")
TERM_NAMES = ("term_months", "loan_term_months")
RATE_NAMES = ("approved_apr", "estimated_apr")


def extras(state: State, source: AgreementSource) -> dict[str, Any]:
    """`extra` for the template: the amortisation schedule when the answers have amount, term and rate."""
    from documents import amortisation, schedule_table

    ns = state.namespace

    def first(names: tuple[str, ...]) -> Any:
        return next((ns[n] for n in names if ns.get(n) not in (None, "")), None)

    amount, term, rate = first(AMOUNT_NAMES), first(TERM_NAMES), first(RATE_NAMES)
    if amount is None or term is None or rate is None:
        return {}
    try:
        decimals = int(ns.get("currency_decimals", 2))
        rows = amortisation(amount, rate, int(term), source.date + relativedelta(months=1), decimals=decimals)
    except (TypeError, ValueError, ArithmeticError):
        return {}
    return {"schedule": schedule_table(rows, source.language, decimals)}


def markdown(source: AgreementSource, lang: str) -> str:
    _ = translator(lang)
    lines = [f"# {source.title}", ""]
    lines.append(_("Region {region}, date {date}, language {language}.").format(
        region=source.region, date=source.date.isoformat(), language=source.language))
    lines.append("")
    for clause in source.clauses:
        lines.append(f"## {clause.number}. {clause.title}")
        lines.append("")
        rule = _("clause {id}, region {region}, version {version} in effect from {start}").format(
            id=clause.id, region=clause.region, version=clause.version, start=clause.effective_from.isoformat())
        lines.append(f"<!-- {rule} -->")
        lines.append(clause.text)
        lines.append("")
    if source.parties:
        lines.append("## " + _("Parties"))
        lines.append("")
        for party in source.parties:
            who = party.name or party.staff or ""
            contact = f" <{party.email}>" if party.email else ""
            lines.append(f"- {party.role} ({party.action}, {party.order or '-'}): {who}{contact}")
        lines.append("")
    if source.payment:
        lines.append("## " + _("Payment"))
        lines.append("")
        lines.append(f"- {source.payment['description']}: {source.payment['amount']} {source.payment['currency']}"
                     f" ({source.payment['when']})")
    return "\n".join(lines).rstrip() + "\n"
