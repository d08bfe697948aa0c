"""Read an interview file (and what it includes) into a compiled `Interview`, or raise one
`LoadError` listing every problem found."""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from engine.compiler import Compiler
from engine.errors import LoadError, Problem
from engine.interview import Interview, content_hash


def default_resolver(roots: list[Path]) -> Callable[[str, Path | None], Path | None]:
    """Find included files and templates: relative to the including file, then docassemble
    package references (`docassemble.demo:data/questions/x.yml`) by file name in the roots."""

    def resolve(ref: str, base: Path | None) -> Path | None:
        name = ref.split(":", 1)[1] if ":" in ref and not ref.startswith(("/", "http")) else ref
        candidates: list[Path] = []
        if base is not None:
            candidates += [base / name, base / Path(name).name]
        for root in roots:
            candidates += [root / name, root / Path(name).name, root / "templates" / Path(name).name]
        for c in candidates:
            if c.is_file():
                return c
        return None

    return resolve


def load_string(text: str, file: str = "<string>", base_dir: str | Path | None = None) -> Interview:
    """Load interview YAML held in memory (tests, the playground)."""
    base = Path(base_dir) if base_dir else None
    roots = [base] if base else []
    comp = Compiler(file, base, default_resolver(roots))
    comp.iv.source_hash = content_hash(text)
    comp.load_file(None, text, file)
    iv = comp.finish()
    if comp.problems:
        raise LoadError(comp.problems)
    return iv


def load(path: str | os.PathLike[str], *, cache: bool = True) -> Interview:
    """Load and compile an interview file; raises LoadError listing every problem.

    A compiled interview is kept per process and reused while neither the file nor anything it
    includes (included YAML, content files, DOCX templates) has changed: compiling the loan
    interview takes ~40 ms, checking that nothing changed well under a millisecond."""
    p = Path(path)
    try:
        raw = p.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LoadError([Problem(str(path), 0, f"cannot read the file: {exc}")]) from exc
    key = str(p.resolve())
    if cache:
        cached = _CACHE.get(key)
        if cached is not None and _unchanged(cached, key, raw):
            _CACHE.move_to_end(key)
            return cached
    roots = [p.parent, p.parent.parent, p.parent.parent / "templates"]
    comp = Compiler(str(path), p.parent, default_resolver(roots))
    comp.iv.path = p
    comp.remember(p, raw)
    comp.load_file(p, text, str(path))
    iv = comp.finish()
    if comp.problems:
        raise LoadError(comp.problems)
    iv.source_hash = _version(iv.sources, p.resolve().parent)
    if cache:
        _CACHE[key] = iv
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return iv


CACHE_SIZE = 64
_CACHE: OrderedDict[str, Interview] = OrderedDict()


def _version(sources: dict[str, str], base: Path) -> str:
    """A hash over every source's content and its place relative to the interview, so the same
    files give the same version wherever they are checked out."""
    def relative(path: str) -> str:
        try:
            return Path(path).relative_to(base).as_posix()
        except ValueError:
            return Path(path).name
    return content_hash("\n".join(f"{relative(path)} {digest}" for path, digest in sorted(sources.items())))


def _unchanged(iv: Interview, main: str, raw: bytes) -> bool:
    for path, digest in iv.sources.items():
        try:
            data = raw if path == main else Path(path).read_bytes()
        except OSError:
            return False
        if hashlib.sha256(data).hexdigest() != digest:
            return False
    return True
