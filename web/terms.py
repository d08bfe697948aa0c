"""docassemble `terms:`: a `{term}` in a screen's text becomes a button that opens the term's
definition in a popover (the HTML `popover` attribute: no JavaScript, keyboard usable, Esc closes)."""

from __future__ import annotations

import re
from html import unescape

from markupsafe import Markup

_BRACED = re.compile(r"\{([^{}<>\n]{1,80})\}")


def term_ids(terms: dict[str, str]) -> dict[str, str]:
    """term (lower case) -> the id of its popover, stable for a screen."""
    return {t.lower(): f"term-{n}" for n, t in enumerate(sorted(terms))}


def link_terms(html: str, terms: dict[str, str]) -> Markup:
    """`html` (already escaped/rendered) with each `{term}` of `terms` as a popover button; braces
    around anything that is not a term are left as they are."""
    ids = term_ids(terms)

    def swap(match: re.Match[str]) -> str:
        shown = match.group(1)
        target = ids.get(unescape(shown).strip().lower())
        if target is None:
            return match.group(0)
        return (f'<button type="button" class="term" popovertarget="{target}" aria-haspopup="dialog">'
                f"{shown}</button>")

    return Markup(_BRACED.sub(swap, str(html)))


def definitions(terms: dict[str, str]) -> list[tuple[str, str, str]]:
    """(popover id, term, definition) for the template (which escapes the term, renders the definition)."""
    ids = term_ids(terms)
    return [(ids[t.lower()], t, terms[t]) for t in sorted(terms)]
