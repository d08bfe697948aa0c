"""What a DOCX template asks for: its Jinja text, read from the file's XML.

docassemble assembles a `docx template file` while the interview runs, so every variable its
Jinja tags use gets asked. We read the tags the same way docxtpl sees them (the document,
headers and footers, runs joined, docxtpl's `{%p`/`{%tr`/`{%tc`/`{%r` tags normalised) and
render that text in the sandbox; the real DOCX rendering belongs to the assembly issue.
"""

from __future__ import annotations

import html
import re
import zipfile
from pathlib import Path

_PARTS = re.compile(r"^word/(document|header\d*|footer\d*|footnotes|endnotes)\.xml$")
_TAG = re.compile(r"<[^>]+>")
_PARAGRAPH_END = re.compile(r"</w:p>")
_DOCXTPL_TAGS = re.compile(r"\{%\s*[ptrc]{1,2}\s")


class DocxError(Exception):
    pass


def jinja_text(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as archive:
            names = sorted(n for n in archive.namelist() if _PARTS.match(n))
            if not names:
                raise DocxError(f"{path.name} has no word/document.xml: is it a DOCX file?")
            xml = "\n".join(archive.read(n).decode("utf-8", "replace") for n in names)
    except (OSError, zipfile.BadZipFile) as exc:
        raise DocxError(f"cannot read {path.name}: {exc}") from exc
    text = _PARAGRAPH_END.sub("\n", xml)
    text = html.unescape(_TAG.sub("", text))
    text = text.replace("\u201c", '"').replace("\u201d", '"').replace("\u2018", "'").replace("\u2019", "'")
    return _DOCXTPL_TAGS.sub("{% ", text)
