"""The runner's own strings in the session's language, from gettext catalogs.

The catalogs are the `.po` files under `accord/locale/<lang>/LC_MESSAGES/accord.po`, read at
runtime with Babel (no `.mo` compile step to forget) and cached per language. English is the
source language, so it needs no catalog: an unknown language, a missing catalog or a missing
or fuzzy entry all show the English text.

Mark a string with `_ = translator(lang)` then `_("Type a number from 1 to {n}.").format(n=3)`:
placeholders are `{name}` and filled in *after* translation, so translators can move them.
`make messages` re-extracts `accord/locale/accord.pot` and merges it into every catalog.
"""

from __future__ import annotations

import gettext
import io
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

DOMAIN = "accord"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
_LANG = re.compile(r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$")


def catalog_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=32)
def translations(lang: str) -> gettext.NullTranslations:
    """The catalog for `lang` ("vi", "vi_VN", "vi-VN" ...); identity (English) when none."""
    if not lang or not _LANG.match(lang):
        return gettext.NullTranslations()
    tag = lang.replace("-", "_")
    for candidate in dict.fromkeys((tag, tag.split("_")[0])):
        path = catalog_path(candidate)
        if path.is_file():
            # Babel is imported only when a catalog is read: English (and `accord --help`) never pay for it.
            from babel.messages.mofile import write_mo
            from babel.messages.pofile import read_po

            with path.open("rb") as po:
                catalog = read_po(po, domain=DOMAIN)
            # Build the GNU translations object in memory: it brings gettext's own lookup and
            # plural-form evaluation, and write_mo leaves fuzzy entries out, as msgfmt does.
            mo = io.BytesIO()
            write_mo(mo, catalog)
            mo.seek(0)
            return gettext.GNUTranslations(mo)
    return gettext.NullTranslations()


def translator(lang: str) -> Callable[[str], str]:
    """gettext for `lang`: the translated message, or the English one when there is none."""
    return translations(lang).gettext


def ngettext(lang: str) -> Callable[[str, str, int], str]:
    """ngettext for `lang`: singular/plural chosen by the catalog's own plural rule."""
    return translations(lang).ngettext


_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def message_ids(path: Path) -> set[str]:
    """The msgids of a .pot/.po file."""
    from babel.messages.pofile import read_po

    with path.open("rb") as f:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}


def catalog_problems(pot: Path, po: Path) -> list[str]:
    """What keeps a translation catalog from being complete: missing, untranslated or fuzzy
    entries, and placeholders (`{n}`) that differ from the English. Used by the tests of every
    catalog in the project (the CLI's and the web pages')."""
    from babel.messages.pofile import read_po

    with pot.open("rb") as f:
        template = read_po(f)
    with po.open("rb") as f:
        catalog = read_po(f)
    problems: list[str] = []
    if not message_ids(pot):
        problems.append("the template is empty")
    extra = message_ids(po) - message_ids(pot)
    if extra:
        problems.append(f"stale entries (re-run the messages target): {sorted(extra)}")
    for entry in template:
        if not entry.id:
            continue
        message = catalog.get(entry.id, entry.context)
        if message is None:
            problems.append(f"missing: {entry.id!r}")
            continue
        if message.fuzzy:
            problems.append(f"fuzzy (ignored at runtime): {entry.id!r}")
        ids = [str(i) for i in (entry.id if isinstance(entry.id, tuple | list) else (entry.id,))]
        raw = message.string
        strings = [str(x) for x in raw] if isinstance(raw, tuple | list) else [str(raw or "")]
        for string in strings:
            if not (string and string.strip()):
                problems.append(f"untranslated: {entry.id!r}")
                continue
            for msgid in ids:
                if sorted(_PLACEHOLDER.findall(string)) != sorted(_PLACEHOLDER.findall(msgid)):
                    problems.append(f"placeholders differ: {msgid!r} / {string!r}")
    return problems
