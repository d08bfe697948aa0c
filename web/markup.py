"""Interview Markdown to HTML, with no raw HTML let through.

The engine hands front ends Markdown with the applicant's answers already substituted, so the
text is not trusted: raw HTML blocks and inline tags are not parsed (they come out as escaped
text) and links or images whose URL is not http(s), mailto, tel, relative or a fragment lose it.
"""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET

import markdown
from markdown.treeprocessors import Treeprocessor
from markupsafe import Markup

SAFE_SCHEMES = ("http://", "https://", "mailto:", "tel:", "/", "#", "./", "../")


class _SafeLinks(Treeprocessor):
    def run(self, root: ET.Element) -> None:
        for el in root.iter():
            for attr in ("href", "src"):
                url = el.get(attr)
                if url is not None and not _safe_url(url):
                    del el.attrib[attr]


def _safe_url(url: str) -> bool:
    cleaned = "".join(ch for ch in url if ch > " ").lower()
    return cleaned.startswith(SAFE_SCHEMES) or ":" not in cleaned.split("/", 1)[0]


def _make() -> markdown.Markdown:
    md = markdown.Markdown(extensions=["smarty", "sane_lists"], output_format="html")
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    md.treeprocessors.register(_SafeLinks(md), "safe_links", 0)
    return md


_local = threading.local()


def render(text: str | None, inline: bool = False) -> Markup:
    """HTML for `text` (Markdown); `inline` drops the wrapping paragraph of one-line text."""
    if not text:
        return Markup("")
    md = getattr(_local, "md", None)
    if md is None:
        md = _local.md = _make()
    html = md.reset().convert(text)
    if inline and html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        html = html[3:-4]
    return Markup(html)  # built by markdown from escaped source (see above)
