"""The web pages' own strings (buttons, notices, labels) in English and Vietnamese.

Catalogs: `web/locale/<lang>/LC_MESSAGES/web.po`, read at runtime with Babel (no `.mo` step)
and cached per language; English is the source language and the fallback. The interview's own
text does not come from here: the engine renders it in the session's language.
Refresh with `make web-messages` (extracts `web/*.py` and `web/templates/*.html`).
"""

from __future__ import annotations

import gettext
import io
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

DOMAIN = "web"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("en", "vi")
_LANG = re.compile(r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$")


@lru_cache(maxsize=16)
def translations(lang: str) -> gettext.NullTranslations:
    if not lang or not _LANG.match(lang):
        return gettext.NullTranslations()
    tag = lang.replace("-", "_")
    for candidate in dict.fromkeys((tag, tag.split("_")[0])):
        path = LOCALE_DIR / candidate / "LC_MESSAGES" / f"{DOMAIN}.po"
        if path.is_file():
            from babel.messages.mofile import write_mo
            from babel.messages.pofile import read_po

            with path.open("rb") as po:
                catalog = read_po(po, domain=DOMAIN)
            mo = io.BytesIO()
            write_mo(mo, catalog)  # leaves fuzzy entries out, as msgfmt does
            mo.seek(0)
            return gettext.GNUTranslations(mo)
    return gettext.NullTranslations()


def translator(lang: str) -> Callable[[str], str]:
    return translations(lang).gettext


def _(message: str) -> str:
    """Marks a module-level string for extraction; translate it later with `translator(lang)`."""
    return message
