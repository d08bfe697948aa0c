"""Interview Markdown to HTML, with no raw HTML let through.

The engine hands front ends Markdown with the applicant's answers already substituted, so the
text is not trusted: raw HTML blocks and inline tags are not parsed (they come out as escaped
text) and links or images whose URL is not http(s), mailto, tel, relative or a fragment lose it.
"""

from __future__ import annotations

import hashlib
import re
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


_TERM = re.compile(r"\{([^{}|<>]+)(?:\|([^{}<>]+))?\}")
_TAG = re.compile(r"(<[^>]*>)")


def with_terms(html: Markup, terms: dict[str, str] | None) -> Markup:
    """docassemble's glossary: `{term}` (or `{term|shown words}`) in rendered text becomes a
    link-like button opening the term's definition in a popover (the HTML `popover` attribute:
    no script; a click elsewhere or Escape closes it). Braces naming no term stay as written."""
    if not terms or "{" not in html:
        return html
    lowered = {k.strip().casefold(): v for k, v in terms.items()}
    stem = hashlib.sha1(str(html).encode("utf-8")).hexdigest()[:8]
    count = 0

    def term(m: re.Match[str]) -> str:
        nonlocal count
        definition = lowered.get(m.group(1).strip().casefold())
        if definition is None:
            return m.group(0)
        count += 1
        ident = f"term-{stem}-{count}"
        shown = (m.group(2) or m.group(1)).strip()  # already escaped: it comes from rendered HTML
        return (f'<button type="button" class="term" popovertarget="{ident}">{shown}</button>'
                f'<span id="{ident}" popover class="term-definition">{render(definition, inline=True)}</span>')

    parts = _TAG.split(str(html))
    out = [part if part.startswith("<") else _TERM.sub(term, part) for part in parts]
    return Markup("".join(out))  # text segments of markdown's escaped output, and our own tags
