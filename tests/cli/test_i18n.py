"""The runner's own strings in English and Vietnamese (accord/i18n.py, accord/locale/).

The catalog must be complete (every message translated, same placeholders, nothing fuzzy),
current (the template matches what the code marks), and actually used: `accord run --lang vi`
talks Vietnamese around a Vietnamese interview, `--lang en` English.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface

from accord.cli import main
from accord.i18n import LOCALE_DIR, catalog_problems, message_ids, translations, translator

ACCORD_DIR = Path(__file__).resolve().parents[2] / "accord"
POT = LOCALE_DIR / "accord.pot"
VI_PO = LOCALE_DIR / "vi" / "LC_MESSAGES" / "accord.po"
def test_every_message_has_a_vietnamese_translation_with_the_same_placeholders() -> None:
    assert catalog_problems(POT, VI_PO) == [], "run `make messages` and translate the new entries"


def test_the_template_is_up_to_date_with_the_code(tmp_path: Path) -> None:
    fresh = tmp_path / "accord.pot"
    CommandLineInterface().run(["pybabel", "-q", "extract", "-o", str(fresh), str(ACCORD_DIR)])
    assert message_ids(fresh) == message_ids(POT), "run `make messages` to refresh accord/locale/accord.pot"


def test_translator_falls_back_to_english() -> None:
    assert translator("vi")("Done.") == "Hoàn tất."
    assert translator("vi_VN")("Done.") == "Hoàn tất."
    assert translator("vi-VN")("(optional)") == "(không bắt buộc)"
    for lang in ("en", "fr", "", "../vi", "vi/LC_MESSAGES"):
        assert translator(lang)("Done.") == "Done."
    assert translator("vi")("not a message in the catalog") == "not a message in the catalog"
    assert translations("vi") is translations("vi")  # read once per language


BILINGUAL = """\
default language: en
---
mandatory: True
code: |
  user_name
  teas
  wants_news
  final_screen
---
question: About you
fields:
  - Name: user_name
  - Nickname: nickname
    required: False
---
language: vi
question: Thông tin về bạn
fields:
  - Họ và tên: user_name
  - Biệt danh: nickname
    required: False
---
question: Tea
fields:
  - Teas: teas
    datatype: checkboxes
    choices:
      - Green: green
      - Black: black
  - Strong: strong_tea
    datatype: yesno
---
language: vi
question: Trà
fields:
  - Loại trà: teas
    datatype: checkboxes
    choices:
      - Trà xanh: green
      - Trà đen: black
  - Đậm: strong_tea
    datatype: yesno
---
question: Do you want our newsletter?
yesno: wants_news
---
language: vi
question: Bạn có muốn nhận bản tin không?
yesno: wants_news
---
event: final_screen
question: Thank you, ${ user_name }.
---
language: vi
event: final_screen
question: Cảm ơn ${ user_name }.
"""

# `?` on a question without help, `back` on the first question, an optional field left empty,
# checkboxes and a yes/no field, a button number out of range, then the end.
ANSWERS = ("?", "back", "Ann", "", "1, 2", "y", "9", "1")


def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], lang: str,
        *lines: str) -> tuple[int, str, str]:
    """`accord run --lang LANG` on BILINGUAL, typing `lines`; returns (exit code, stdout, stderr)."""
    path = tmp_path / "bilingual.yml"
    path.write_text(BILINGUAL, encoding="utf-8")
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(line + "\n" for line in lines)))
    code = main(["run", str(path), "--lang", lang])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


ENGLISH = (
    "Type `back` to go back, `?` for help.",
    "No help for this question.",
    "This is the first question; there is nothing to go back to.",
    "Nickname (optional)",
    "Type a number from 1 to 2.",
    "numbers, comma-separated> ",
    "y/n> ",
)
VIETNAMESE = (
    "Gõ `back` để quay lại, `?` để xem trợ giúp.",
    "Câu hỏi này không có phần trợ giúp.",
    "Đây là câu hỏi đầu tiên; không có câu nào trước đó để quay lại.",
    "Biệt danh (không bắt buộc)",
    "Hãy gõ một số từ 1 đến 2.",
    "các số, cách nhau bằng dấu phẩy> ",
    "có/không> ",
)


def test_run_lang_vi_speaks_vietnamese(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(tmp_path, monkeypatch, capsys, "vi", *ANSWERS)
    assert code == 0, err
    assert "Thông tin về bạn" in out and "Cảm ơn Ann." in out  # the interview's own text
    for text in VIETNAMESE:
        assert text in out, (text, out)
    for text in ENGLISH:
        assert text not in out, (text, out)


def test_run_lang_en_speaks_english(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(tmp_path, monkeypatch, capsys, "en", *ANSWERS)
    assert code == 0, err
    assert "About you" in out and "Thank you, Ann." in out
    for text in ENGLISH:
        assert text in out, (text, out)
    for text in VIETNAMESE:
        assert text not in out, (text, out)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "accord: input ended before the interview finished"),
        ("vi", "accord: dữ liệu nhập đã kết thúc trước khi hoàn thành bảng câu hỏi"),
    ],
)
def test_input_ended_is_localised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], lang: str, expected: str
) -> None:
    code, _, err = run(tmp_path, monkeypatch, capsys, lang, "Ann")
    assert code == 1
    assert expected in err


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("en", "Walking with --seed 4"), ("vi", "Đang tự động trả lời với --seed 4")],
)
def test_auto_is_localised(tmp_path: Path, capsys: pytest.CaptureFixture[str], lang: str, expected: str) -> None:
    path = tmp_path / "bilingual.yml"
    path.write_text(BILINGUAL, encoding="utf-8")
    assert main(["run", str(path), "--auto", "--seed", "4", "--lang", lang]) == 0
    assert expected in capsys.readouterr().out
