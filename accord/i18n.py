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
