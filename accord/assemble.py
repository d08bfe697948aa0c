"""`accord assemble`: the agreement a set of saved answers produces, for firms testing their
clause library, agreement block and template.

It prints the assembled source as Markdown: title, the clauses chosen (with the region and
version of each, and the rule that chose it), the parties and the payment. With `--out X.pdf` it
renders the PDF instead (documents/: the interview's Typst template, empty signature fields) and
prints its SHA-256. The PDF's timestamp is the agreement date (midnight UTC), so the same answers
and date always give the same bytes.

With a Word template (the interview's `template:` or `--template X.docx`), `--out X.docx` writes the
rendered .docx (docxtpl) and `--out X.pdf` converts it with LibreOffice. `--compare OTHER.json`
prints the clause-by-clause changes from the --answers agreement to OTHER's (same date, language).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
from html import escape
from pathlib import Path

from accord.i18n import translator
from documents.schedule import schedule_extra
from engine import AgreementSource, Interview, InterviewError, State, assemble


def load_source(interview: Interview, answers_file: Path, lang: str,
                day: dt.date | None) -> tuple[State, AgreementSource] | None:
    """The state and the assembled agreement for an answers file; None (message printed) on failure."""
    _ = translator(lang)
    try:
        data = json.loads(answers_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print("accord: " + _("cannot read the answers: {error}").format(error=exc), file=sys.stderr)
        return None
    state = State.from_json({"answers": data if isinstance(data, dict) else {}, "lang": lang})
    try:
        source = assemble(interview, state, day=day)
    except InterviewError as exc:
        print("accord: " + _("cannot assemble: {error}").format(error=exc), file=sys.stderr)
        return None
    return state, source


def run(interview: Interview, answers_file: Path, lang: str, day: dt.date | None, out: Path | None,
        template: Path | None = None, compare: Path | None = None) -> int:
    _ = translator(lang)
    loaded = load_source(interview, answers_file, lang, day)
    if loaded is None:
        return 1
    state, source = loaded
    if compare is not None:
        other = load_source(interview, compare, lang, day)
        if other is None:
            return 1
        print(comparison(source, other[1], answers_file, compare, lang), end="")
        return 0
    if template is None and out is not None and out.suffix.lower() in (".pdf", ".docx"):
        base = interview.path if interview.path is not None else Path("interview.yml")
        from documents import template_path

        template = template_path(base, source.template)
    if out is not None and out.suffix.lower() == ".docx":
        if template is None or template.suffix.lower() != ".docx":
            print("accord: " + _("a .docx output needs a .docx template (use --template)"), file=sys.stderr)
            return 1
        return write_docx(state, source, template, out, lang, pdf=False)
    if out is not None and out.suffix.lower() == ".pdf":
        assert template is not None
        if template.suffix.lower() == ".docx":
            return write_docx(state, source, template, out, lang, pdf=True)
        return write_pdf(state, source, template, out, lang)
    if out is not None and out.suffix.lower() in (".html", ".htm"):
        from documents.preview import preview_html

        # the same fragment the web shows before signing, in a page of its own
        page = (f'<!doctype html>\n<html lang="{source.language}">\n<head><meta charset="utf-8">'
                f"<title>{escape(source.title)}</title></head>\n<body>\n{preview_html(source)}</body>\n</html>\n")
        if not _write(out, page.encode("utf-8"), lang):
            return 1
        print(_("wrote {path}").format(path=out))
        return 0
    text = markdown(source, lang)
    if out is None:
        print(text)
    else:
        out.write_text(text, encoding="utf-8")
        print(_("wrote {path}").format(path=out))
    return 0


def write_docx(state: State, source: AgreementSource, template: Path, out: Path, lang: str, pdf: bool) -> int:
    """The Word template rendered (docxtpl), written as .docx, or converted to PDF by LibreOffice."""
    _ = translator(lang)
    from documents import RenderError, docx_to_pdf, render_docx

    try:
        data = render_docx(source, template, extra=schedule_extra(state.namespace, source))
    except (RenderError, ValueError) as exc:
        print("accord: " + _("cannot render the DOCX: {error}").format(error=exc), file=sys.stderr)
        return 1
    if pdf:
        try:
            data = docx_to_pdf(data)
        except RenderError as exc:
            print("accord: " + _("cannot convert the DOCX to PDF: {error}").format(error=exc), file=sys.stderr)
            return 1
    if not _write(out, data, lang):
        return 1
    print(_("wrote {path}").format(path=out))
    print(f"SHA-256: {hashlib.sha256(data).hexdigest()}")
    return 0


def _write(out: Path, data: bytes, lang: str) -> bool:
    _ = translator(lang)
    try:
        out.write_bytes(data)
    except OSError as exc:
        print("accord: " + _("cannot write {path}: {error}").format(path=out, error=exc.strerror or exc),
              file=sys.stderr)
        return False
    return True


def comparison(old: AgreementSource, new: AgreementSource, old_name: Path, new_name: Path, lang: str) -> str:
    """`--compare`: the clause-by-clause changes from the --answers agreement to the other one."""
    _ = translator(lang)
    from documents import diff_agreements

    changes = diff_agreements(old, new)
    if not changes:
        return _("no clause changes between {old} and {new}").format(old=old_name, new=new_name) + "\n"
    lines = [_("{count} clause changes from {old} to {new}:").format(count=len(changes), old=old_name, new=new_name)]
    for change in changes:
        if change.kind == "added":
            head = _("added: {id} (region {region}, version {version})").format(
                id=change.id, region=change.new_region, version=change.new_version)
        elif change.kind == "removed":
            head = _("removed: {id} (region {region}, version {version})").format(
                id=change.id, region=change.old_region, version=change.old_version)
        else:
            head = _("changed: {id} (region {old_region} version {old_version} → region {new_region} version "
                     "{new_version})").format(id=change.id, old_region=change.old_region,
                                              old_version=change.old_version, new_region=change.new_region,
                                              new_version=change.new_version)
        lines.append("")
        lines.append(f"{head} — {change.title}")
        if change.diff:
            lines.append(change.diff)
    return "\n".join(lines) + "\n"


def write_pdf(state: State, source: AgreementSource, template: Path, out: Path, lang: str) -> int:
    _ = translator(lang)
    from documents import RenderError, render_pdf

    try:
        document = render_pdf(source, template, extra=schedule_extra(state.namespace, source),
                              timestamp=dt.datetime.combine(source.date, dt.time(0), dt.UTC))
    except (RenderError, ValueError) as exc:
        print("accord: " + _("cannot render the PDF: {error}").format(error=exc), file=sys.stderr)
        return 1
    if not _write(out, document.pdf, lang):
        return 1
    print(_("wrote {path}").format(path=out))
    print(_("{pages} pages, signature fields: {fields}").format(pages=document.pages,
                                                               fields=", ".join(document.signature_fields)))
    print(f"SHA-256: {document.sha256}")
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
