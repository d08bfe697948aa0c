"""`accord assemble`: the agreement a set of saved answers produces, for firms testing their
clause library and agreement block before the PDF renderer (documents/) lands.

It prints the assembled source as Markdown: title, the clauses chosen (with the region and
version of each, and the rule that chose it), the parties and the payment.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

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
    text = markdown(source, lang)
    if out is None:
        print(text)
    else:
        out.write_text(text, encoding="utf-8")
        print(_("wrote {path}").format(path=out))
    return 0


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
