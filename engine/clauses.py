"""The clause library: one file per clause version, chosen by region, date and language.

Files are data (`docs/clause-library.md`): YAML front matter, then text in the interview's own
`${ }` / `% if` syntax. Loading checks each file; `check` checks the library against an
interview; `select` picks, deterministically, the clause versions an agreement uses: the most
specific region, then the version in effect on the agreement date.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import sandbox
from engine.errors import Problem
from engine.sandbox import Compiled, SandboxError
from engine.templates import TemplateError, Text, compile_text
from engine.yamlload import Map, read_blocks

_FRONT = re.compile(r"\A---[ \t]*\n(.*?\n)---[ \t]*\n(.*)\Z", re.S)
_REGION = re.compile(r"^(default|[A-Z]{2}|[A-Z]{2}-[A-Z0-9]{1,3})$")
_NAME = re.compile(
    r"^(?P<id>[a-z][a-z0-9_]*)\.(?P<region>[A-Za-z0-9-]+)\.(?P<language>[a-z]{2})\.v(?P<version>\d+)\.md$"
)
KEYS = {"id", "title", "region", "language", "version", "effective_from", "effective_until", "order", "required",
        "if"}


@dataclass(frozen=True)
class Clause:
    id: str
    title: str
    region: str
    language: str
    version: int
    effective_from: dt.date
    effective_until: dt.date | None
    order: int
    required: bool
    condition: Compiled | None
    text: Text
    file: str

    def in_effect(self, day: dt.date) -> bool:
        return self.effective_from <= day and (self.effective_until is None or day < self.effective_until)


@dataclass
class Library:
    folder: Path
    clauses: list[Clause] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def ids(self) -> list[str]:
        order = {c.id: c.order for c in self.clauses}
        return sorted(order, key=lambda i: (order[i], i))


def region_chain(region: str) -> list[str]:
    """`VN-HN` -> [VN-HN, VN, default]: the order in which regions are tried."""
    chain = [region] if region and region != "default" else []
    if "-" in region:
        chain.append(region.split("-", 1)[0])
    return [*chain, "default"]


def _date(value: Any, where: str, key: str, problems: list[Problem], line: int) -> dt.date | None:
    if value is None or value == "null":
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        problems.append(Problem(where, line, f"{key} must be a date like 2024-01-01, not {value!r}"))
        return None


def _parse(path: Path, problems: list[Problem]) -> Clause | None:
    where = str(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(where, 0, f"cannot read the clause: {exc}"))
        return None
    m = _FRONT.match(raw)
    if not m:
        problems.append(Problem(where, 1, "a clause starts with front matter between two `---` lines"))
        return None
    blocks = read_blocks(m.group(1), where, problems)
    if not blocks or not isinstance(blocks[0].data, Map):
        problems.append(Problem(where, 1, "the front matter must be a mapping"))
        return None
    meta: Map = blocks[0].data
    for key in meta:
        if key not in KEYS:
            problems.append(Problem(where, meta.line_of(key) + 1, f"unknown key {key!r} in a clause"))
    missing = [k for k in ("id", "title", "region", "language", "version", "effective_from") if k not in meta]
    if missing:
        problems.append(Problem(where, 1, f"the clause needs {', '.join(missing)}"))
        return None
    body_line = m.group(1).count("\n") + 3
    region = str(meta["region"])
    if not _REGION.match(region):
        problems.append(Problem(where, meta.line_of("region") + 1,
                                f"region {region!r} must be default, a country (VN) or country-subdivision (VN-HN)"))
    version = meta["version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        problems.append(Problem(where, meta.line_of("version") + 1, "version must be a whole number from 1"))
        return None
    start = _date(meta["effective_from"], where, "effective_from", problems, meta.line_of("effective_from") + 1)
    until = _date(meta.get("effective_until"), where, "effective_until", problems, meta.line_of("effective_until") + 1)
    if start is None:
        return None
    if until is not None and until <= start:
        problems.append(Problem(where, meta.line_of("effective_until") + 1,
                                "effective_until must be after effective_from"))
    name = _NAME.match(path.name)
    expected = f"{meta['id']}.{region}.{meta['language']}.v{version}.md"
    if not name or path.name != expected:
        problems.append(Problem(where, 1, f"the file should be named {expected} (from its front matter)"))
    condition = None
    if "if" in meta:
        try:
            condition = sandbox.compile_expr(str(meta["if"]), where, meta.line_of("if") + 1)
        except (SyntaxError, SandboxError) as exc:
            problems.append(Problem(where, meta.line_of("if") + 1, f"if: {exc}"))
    try:
        text = compile_text(m.group(2))
    except TemplateError as exc:
        problems.append(Problem(where, body_line + exc.line_offset, str(exc)))
        return None
    order = meta.get("order", 1000)
    return Clause(id=str(meta["id"]), title=str(meta["title"]), region=region, language=str(meta["language"]),
                  version=version, effective_from=start, effective_until=until,
                  order=order if isinstance(order, int) else 1000, required=meta.get("required") is True,
                  condition=condition, text=text, file=where)


def load_library(folder: Path) -> Library:
    """Every clause file of `folder`; problems are collected, not raised."""
    library = Library(folder)
    if not folder.is_dir():
        library.problems.append(Problem(str(folder), 0, "the clause library folder does not exist"))
        return library
    for path in sorted(folder.glob("*.md")):
        if path.name.lower() == "readme.md":
            continue
        clause = _parse(path, library.problems)
        if clause is not None:
            library.clauses.append(clause)
    return library


def check(library: Library, languages: list[str], known: set[str]) -> list[Problem]:
    """The library against the interview that uses it (see docs/clause-library.md)."""
    problems = list(library.problems)
    by_key: dict[tuple[str, str, str], list[Clause]] = {}
    for c in library.clauses:
        by_key.setdefault((c.id, c.region, c.language), []).append(c)
    for versions in by_key.values():
        versions.sort(key=lambda c: c.effective_from)
        for a, b in zip(versions, versions[1:]):
            if a.effective_until is None or a.effective_until > b.effective_from:
                problems.append(Problem(b.file, 1, f"version {b.version} overlaps version {a.version} "
                                        f"(from {a.effective_from}) of {a.id} for {a.region}/{a.language}"))
    ids = {c.id for c in library.clauses}
    for clause_id in sorted(ids):
        required = any(c.required for c in library.clauses if c.id == clause_id)
        shape = {lang: sorted((c.region, c.version) for c in library.clauses
                              if c.id == clause_id and c.language == lang) for lang in languages}
        for lang in languages:
            if required and not any(r == "default" for r, _ in shape[lang]):
                problems.append(Problem(str(library.folder), 0, f"required clause {clause_id} has no default "
                                        f"version in {lang}, so some regions would have none"))
        first = languages[0] if languages else None
        for lang in languages[1:]:
            if first is not None and shape[lang] != shape[first]:
                problems.append(Problem(str(library.folder), 0, f"clause {clause_id} has regions/versions "
                                        f"{shape[first]} in {first} but {shape[lang]} in {lang}"))
    for c in library.clauses:
        reads = set(c.text.names) | (set(c.condition.names) if c.condition else set())
        for name in sorted(reads - known):
            problems.append(Problem(c.file, 1, f"the clause reads {name!r}, but the interview never defines it"))
    return problems


def select(library: Library, region: str, day: dt.date, language: str) -> list[Clause]:
    """One version per clause id, in agreement order; conditions are the caller's to apply."""
    chosen: list[Clause] = []
    chain = region_chain(region)
    for clause_id in library.ids():
        candidates = [c for c in library.clauses if c.id == clause_id and c.language == language and c.in_effect(day)]
        for level in chain:
            here = [c for c in candidates if c.region == level]
            if here:
                chosen.append(max(here, key=lambda c: c.version))
                break
    return chosen
