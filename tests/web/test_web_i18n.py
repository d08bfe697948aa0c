"""The web pages' own strings (web/i18n.py, web/locale/): complete, current and used."""

from __future__ import annotations

from pathlib import Path

from babel.messages.frontend import CommandLineInterface

from accord.i18n import catalog_problems, message_ids
from web.i18n import LOCALE_DIR, translator

WEB_DIR = Path(__file__).resolve().parents[2] / "web"
POT = LOCALE_DIR / "web.pot"
VI_PO = LOCALE_DIR / "vi" / "LC_MESSAGES" / "web.po"
def test_every_message_has_a_vietnamese_translation_with_the_same_placeholders() -> None:
    assert catalog_problems(POT, VI_PO) == [], "run `make web-messages` and translate the new entries"


def test_the_template_is_up_to_date_with_the_code_and_templates(tmp_path: Path) -> None:
    fresh = tmp_path / "web.pot"
    CommandLineInterface().run(
        ["pybabel", "-q", "extract", "-F", str(WEB_DIR / "babel.cfg"), "-k", "_t", "-o", str(fresh), str(WEB_DIR)]
    )
    assert message_ids(fresh) == message_ids(POT), "run `make web-messages` to refresh web/locale/web.pot"
    assert "Back" in message_ids(fresh) and "Continue" in message_ids(fresh)  # templates and code both seen


def test_translator_falls_back_to_english() -> None:
    assert translator("vi")("Back") == "Quay lại"
    assert translator("vi-VN")("Continue") == "Tiếp tục"
    for lang in ("en", "fr", "", "../vi"):
        assert translator(lang)("Back") == "Back"
