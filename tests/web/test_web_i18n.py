"""The web pages' own strings (web/i18n.py, web/locale/): complete, current and used."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from web.i18n import LOCALE_DIR, translator

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
POT = LOCALE_DIR / "web.pot"
VI_PO = LOCALE_DIR / "vi" / "LC_MESSAGES" / "web.po"
PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def read(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


def msgids(catalog: Catalog) -> set[str]:
    return {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}


def test_every_message_has_a_vietnamese_translation_with_the_same_placeholders() -> None:
    pot, vi = read(POT), read(VI_PO)
    assert msgids(pot), "the template is empty"
    assert msgids(vi) == msgids(pot), "run `make web-messages` and translate the new entries"
    for template in pot:
        if not template.id:
            continue
        message = vi.get(template.id, template.context)
        assert message is not None, template.id
        assert not message.fuzzy, f"fuzzy (ignored at runtime): {template.id!r}"
        string = message.string if isinstance(message.string, str) else message.string[0]
        assert string and string.strip(), f"untranslated: {template.id!r}"
        msgid = template.id if isinstance(template.id, str) else template.id[0]
        assert sorted(PLACEHOLDER.findall(string)) == sorted(PLACEHOLDER.findall(msgid)), (msgid, string)


def test_the_template_is_up_to_date_with_the_code_and_templates(tmp_path: Path) -> None:
    fresh = tmp_path / "web.pot"
    CommandLineInterface().run(
        ["pybabel", "-q", "extract", "-F", str(WEB_DIR / "babel.cfg"), "-k", "_t", "-o", str(fresh), str(WEB_DIR)]
    )
    assert msgids(read(fresh)) == msgids(read(POT)), "run `make web-messages` to refresh web/locale/web.pot"
    assert "Back" in msgids(read(fresh)) and "Continue" in msgids(read(fresh))  # templates and code both seen


def test_translator_falls_back_to_english() -> None:
    assert translator("vi")("Back") == "Quay lại"
    assert translator("vi-VN")("Continue") == "Tiếp tục"
    for lang in ("en", "fr", "", "../vi"):
        assert translator(lang)("Back") == "Back"
