"""docassemble `terms:` and `auto terms:` as popovers. A `{term}` (or `{term|shown text}`) in a
screen's text, and for `auto terms` every plain occurrence of the phrase, becomes a button that
opens the definition in a popover: the HTML `popover` attribute, so no JavaScript is needed, the
button is keyboard usable and Esc closes it."""

from __future__ import annotations

import re
from html import unescape

from markupsafe import Markup

_BRACED = re.compile(r"\{([^{}|<>\n]{1,80})(?:\|([^{}<>\n]{1,80}))?\}")
_TAG = re.compile(r"(<[^>]+>)")
_SKIP = {"a", "button", "code", "pre"}  # never link inside these


def term_ids(terms: dict[str, str], auto_terms: dict[str, str] | None = None) -> dict[str, str]:
    """term (lower case) -> the id of its popover, stable for a screen."""
    names = sorted({t.lower() for t in terms} | {t.lower() for t in (auto_terms or {})})
    return {t: f"term-{n}" for n, t in enumerate(names)}


def _button(target: str, shown: str) -> str:
    return f'<button type="button" class="term" popovertarget="{target}" aria-haspopup="dialog">{shown}</button>'


def link_terms(html: str, terms: dict[str, str], auto_terms: dict[str, str] | None = None) -> Markup:
    """`html` (already rendered and escaped) with the terms as popover buttons. Braces around
    anything that is not a term are left as they are; text inside links and buttons is left alone."""
    ids = term_ids(terms, auto_terms)
    braced = {t.lower() for t in terms}

    def swap(match: re.Match[str]) -> str:
        target = ids.get(unescape(match.group(1)).strip().lower())
        if target is None or unescape(match.group(1)).strip().lower() not in braced:
            return match.group(0)
        return _button(target, (match.group(2) or match.group(1)).strip())

    text = _BRACED.sub(swap, str(html))
    if auto_terms:
        phrases = sorted(auto_terms, key=len, reverse=True)
        pattern = re.compile(r"\b(" + "|".join(re.escape(p) for p in phrases) + r")\b", re.IGNORECASE)
        out, skipping = [], 0
        for part in _TAG.split(text):
            if part.startswith("<"):
                name = part.strip("</ >").split()[0].lower() if part.strip("</ >") else ""
                if name in _SKIP:
                    skipping += -1 if part.startswith("</") else 1
                out.append(part)
            elif skipping <= 0:
                out.append(pattern.sub(lambda m: _button(ids[m.group(1).lower()], m.group(1)), part))
            else:
                out.append(part)
        text = "".join(out)
    return Markup(text)


def plain(text: str) -> str:
    """`{term}` / `{term|shown}` as plain text (for the page title)."""
    return _BRACED.sub(lambda m: (m.group(2) or m.group(1)).strip(), text)


def definitions(terms: dict[str, str], auto_terms: dict[str, str] | None = None) -> list[tuple[str, str, str]]:
    """(popover id, term, definition) for the template (which escapes the term, renders the definition)."""
    ids = term_ids(terms, auto_terms)
    merged = {**(auto_terms or {}), **terms}
    seen: set[str] = set()
    out = []
    for t in sorted(merged):
        if t.lower() not in seen:
            seen.add(t.lower())
            out.append((ids[t.lower()], t, merged[t]))
    return out
