"""Typst rendering of an assembled agreement, then the signature fields, with pyHanko.

The data reaches the template only as one JSON string (`sys.inputs.data`); the template places
every value as text, so an answer can never inject Typst markup. The template marks each
signature box with `#metadata((id:, page:, x:, y:, w:, h:))<box>`; after compiling we query those
boxes and add one empty signature field per box in a single incremental update, before anyone
signs (a field added after the first signature would break it).

Output is deterministic for a given source, template, `extra` and `timestamp`: Typst is
reproducible with a fixed timestamp, and the incremental update's second document ID, which
pyHanko would draw at random, is derived from the hash of the compiled PDF instead.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typst
from babel.dates import format_date

from engine import AgreementSource

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_PACKAGE = "fonts-dejavu-core"
SIGNING_ACTIONS = ("sign", "approve", "witness")
SEAL_FIELD = "platform_seal"
_MM = 72 / 25.4


class RenderError(Exception):
    """The agreement cannot be rendered: missing fonts or template, or a template error."""


@dataclass(frozen=True)
class RenderedDocument:
    pdf: bytes
    sha256: str
    pages: int
    signature_fields: tuple[str, ...]


def template_path(interview_path: Path, template: str) -> Path:
    """The agreement block's `template:` is relative to the interview file's folder."""
    return (interview_path.parent / template).resolve()


# One compiled typst.Compiler per template path: it keeps the parsed template, the font book and
# Typst's memoised layout between renders (~50 ms warm instead of ~180 ms cold).
_CACHE_SIZE = 8
_compilers: OrderedDict[Path, typst.Compiler] = OrderedDict()
_lock = threading.Lock()


def _compiler(template: Path) -> typst.Compiler:
    if not FONT_DIR.is_dir():
        raise RenderError(f"the agreement fonts are missing: {FONT_DIR} does not exist; "
                          f"install the Debian package {FONT_PACKAGE} (apt-get install {FONT_PACKAGE})")
    key = template.resolve()
    if not key.is_file():
        raise RenderError(f"the agreement template {key} does not exist")
    with _lock:
        compiler = _compilers.get(key)
        if compiler is None:
            compiler = typst.Compiler(str(key), root=str(key.parent), font_paths=[str(FONT_DIR)],
                                      ignore_system_fonts=True)
            _compilers[key] = compiler
            while len(_compilers) > _CACHE_SIZE:
                _compilers.popitem(last=False)
        else:
            _compilers.move_to_end(key)
        return compiler


def field_name(role: str) -> str:
    return f"sig_{role}"


def paragraphs(text: str) -> list[str]:
    """Clause text → paragraphs (blank-line separated). Lines inside a paragraph are joined, except
    list items (`- `, `* `, `1. `, `(a) `), which keep their own line: a paragraph's lines are
    separated by "\n" and the template breaks the line there."""
    out = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        lines: list[str] = []
        for raw in block.splitlines():
            line = raw.strip()
            if not line:
                continue
            if lines and not _LIST_ITEM.match(line):
                lines[-1] += " " + line
            else:
                lines.append(line)
        if lines:
            out.append("\n".join(lines))
    return out


_LIST_ITEM = re.compile(r"^([-*•]\s|\d{1,2}[.)]\s|\([a-z0-9]{1,3}\)\s)")


def template_data(source: AgreementSource, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything the template sees, as plain JSON-able data."""
    locale = "vi" if source.language.startswith("vi") else "en"
    parties = []
    signers = []
    for p in source.parties:
        field = field_name(p.role) if p.action in SIGNING_ACTIONS else None
        parties.append({"role": p.role, "action": p.action, "order": p.order, "name": p.name, "email": p.email,
                        "phone": p.phone, "staff": p.staff, "identity": list(p.identity), "field": field})
        if field is not None:
            signers.append({"role": p.role, "action": p.action, "field": field, "name": p.name,
                            "staff": p.staff, "witness_for": p.witness_for})
    # A witness's signature field sits right after (under) the signature it witnesses.
    for witness in [x for x in signers if x["witness_for"]]:
        signers.remove(witness)
        at = next((i for i, x in enumerate(signers) if x["role"] == witness["witness_for"]), len(signers) - 1)
        signers.insert(at + 1, witness)
    return {
        "title": source.title,
        "template": source.template,
        "region": source.region,
        "date": {"iso": source.date.isoformat(), "text": format_date(source.date, format="long", locale=locale)},
        "language": source.language,
        "clauses": [{"number": c.number, "id": c.id, "title": c.title, "region": c.region, "version": c.version,
                     "paragraphs": paragraphs(c.text)} for c in source.clauses],
        "parties": parties,
        "signers": signers,
        "payment": source.payment,
        "clause_record": list(source.clause_record),
        "extra": extra or {},
    }


def render_pdf(source: AgreementSource, template: Path, *, extra: dict[str, Any] | None = None,
               timestamp: dt.datetime | None = None) -> RenderedDocument:
    """Render `source` with the Typst `template` (PDF/A-2b) and add its empty signature fields.

    `extra` reaches the template as `d.extra` (e.g. `{"schedule": documents.schedule_table(...)}`).
    Pass `timestamp` (timezone-aware) for byte-reproducible output; without it Typst uses now."""
    data = json.dumps(template_data(source, extra), ensure_ascii=False, default=str)
    if timestamp is not None and timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=dt.UTC)
    compiler = _compiler(template)
    with _lock:  # compile and query must see the same sys_inputs
        try:
            pdf = compiler.compile(sys_inputs={"data": data}, pdf_standards=["a-2b"], timestamp=timestamp)
            boxes = json.loads(compiler.query("<box>", field="value"))
        except typst.TypstError as exc:
            raise RenderError(f"{template.name}: {exc.message}\n{exc.diagnostic}".rstrip()) from exc
    if not isinstance(pdf, bytes):
        raise RenderError(f"{template.name}: Typst returned no PDF")
    final, pages = add_signature_fields(pdf, boxes, modified=timestamp)
    return RenderedDocument(pdf=final, sha256=hashlib.sha256(final).hexdigest(), pages=pages,
                            signature_fields=tuple(b["id"] for b in boxes))


def add_signature_fields(pdf: bytes, boxes: list[dict[str, Any]],
                         modified: dt.datetime | None = None) -> tuple[bytes, int]:
    """One empty signature field per box, all in one incremental update. Returns (pdf, page count).

    `modified` becomes the update's ModDate (Info and XMP); None means now, as pyHanko does."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields

    names = [b["id"] for b in boxes]
    if len(set(names)) != len(names):
        raise RenderError(f"the template has duplicate signature boxes: {sorted(names)}")
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    # pyHanko draws the new second document ID at random; derive it from the content instead.
    digest = hashlib.sha256(pdf).digest()[:16]
    id1 = writer._document_id[0]
    writer._document_id = generic.ArrayObject([id1, generic.ByteStringObject(digest)])
    if modified is not None:
        writer._meta = _pinned_metadata(modified)
    pages = writer.root["/Pages"]
    page_count = int(pages["/Count"])
    for box in boxes:
        page_index = int(box["page"]) - 1
        page_height = _page_height(writer, page_index)
        x1, top = float(box["x"]), page_height - float(box["y"])
        rect = (round(x1), round(top - float(box["h"]) * _MM), round(x1 + float(box["w"]) * _MM), round(top))
        fields.append_signature_field(writer, fields.SigFieldSpec(sig_field_name=box["id"], on_page=page_index,
                                                                  box=rect))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), page_count


def _pinned_metadata(when: dt.datetime) -> Any:
    """pyHanko sets the update's ModDate to 'now' (in the machine's local zone) just before writing;
    this metadata object turns that 'now' into `when`, so a fixed timestamp gives fixed bytes."""
    from pyhanko.pdf_utils.metadata.model import DocumentMetadata

    class PinnedModDate(DocumentMetadata):
        def __setattr__(self, name: str, value: Any) -> None:
            if name == "last_modified" and value == "now":
                value = when
            super().__setattr__(name, value)

    return PinnedModDate(last_modified=when)


def _page_height(writer: Any, index: int) -> float:
    """Typst positions are from the page's top; PDF's from its bottom. MediaBox may be inherited."""
    node = writer.find_page_for_modification(index)[0].get_object()
    while "/MediaBox" not in node and "/Parent" in node:
        node = node["/Parent"]
    box = node["/MediaBox"]
    return float(box[3]) - float(box[1])
