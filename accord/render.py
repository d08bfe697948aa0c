"""Screens as plain terminal text.

The engine hands over Markdown; a terminal shows it mostly as-is, so this only removes the
markup that reads badly raw (emphasis markers, heading hashes, link syntax) rather than
pulling in a Markdown library for a developer tool.
"""

from __future__ import annotations

import re
from typing import Any

from accord.i18n import translator
from engine import Field, Screen

_LINK = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")
_HEADING = re.compile(r"^#{1,6}\s*", re.MULTILINE)


_TERM = re.compile(r"\{([^{}|\n]+)(?:\|([^{}\n]+))?\}")


def terms_used(text: str, terms: dict[str, str]) -> list[tuple[str, str]]:
    """The glossary terms marked `{term}` (or `{shown words|term}`) in `text`, with definitions."""
    lower = {k.lower(): (k, v) for k, v in terms.items()}
    found: list[tuple[str, str]] = []
    for m in _TERM.finditer(text or ""):
        key = (m.group(2) or m.group(1)).strip().lower()
        if key in lower and lower[key] not in found:
            found.append(lower[key])
    return found


def plain(markdown: str) -> str:
    """Markdown to readable plain text: `[a](b)` -> `a (b)`, no `**`, no leading `#`, and
    glossary marks `{term}` shown as the bare words."""
    text = _TERM.sub(lambda m: m.group(1), markdown or "")
    text = _LINK.sub(r"\1 (\2)", text)
    text = _EMPHASIS.sub(r"\2", text)
    text = _HEADING.sub("", text)
    return text.strip()


def first_line(markdown: str) -> str:
    """The question's first non-empty line, for one-line-per-screen logs."""
    for line in plain(markdown).splitlines():
        if line.strip():
            return line.strip()
    return ""


def short(value: Any, width: int = 40) -> str:
    """A value shortened for a log line."""
    text = str(value).replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def header(screen: Screen) -> str:
    """Question, subquestion and the section/progress line above them."""
    parts = []
    where = " · ".join(p for p in (screen.section or "", f"{screen.progress}%" if screen.progress else "") if p)
    if where:
        parts.append(f"[{where}]")
    parts.append(plain(screen.question))
    if screen.subquestion.strip():
        parts.append("")
        parts.append(plain(screen.subquestion))
    if screen.under.strip():
        parts.append("")
        parts.append(plain(screen.under))
    glossary = terms_used(f"{screen.question}\n{screen.subquestion}", screen.terms)
    if glossary:
        parts.append("")
        parts.extend(f"  * {term}: {plain(definition)}" for term, definition in glossary)
    return "\n".join(parts)


def field_label(f: Field, lang: str = "en") -> str:
    """Label line for an input, marking optional fields and showing the hint."""
    _ = translator(lang)
    label = plain(f.label) or f.var or f.key
    if not f.required:
        label += " " + _("(optional)")
    if f.hint:
        label += f" [{plain(f.hint)}]"
    return label


def choice_lines(f: Field) -> list[str]:
    """Numbered choices, as the user types the number to pick one."""
    return [f"    {n}. {plain(c.label)}" for n, c in enumerate(f.choices, start=1)]


def end_text(screen: Screen, lang: str = "en") -> str:
    """An end screen: its text plus the names of any documents it offers."""
    _ = translator(lang)
    text = header(screen)
    names = [str(a.get("name") or a.get("filename") or "") for a in screen.attachments]
    names = [n for n in names if n]
    if names:
        text += "\n\n" + _("Documents: {names}").format(names=", ".join(names))
    return text
