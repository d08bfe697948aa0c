"""A compiled interview: the blocks, the dependency graph and the Accord blocks, as data.

`engine.loader` builds one per file version; it never changes after that, so one instance is
shared by every session running that version.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import agreement
from engine.blocks import DATATYPES, Block
from engine.templates import Text

__all__ = ["DATATYPES", "Interview"]


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class Interview:
    """A compiled interview: immutable after load; share one per file version."""

    file: str
    path: Path | None
    source_hash: str  # the version: a hash over every file it was built from
    sources: dict[str, str] = field(default_factory=dict)  # resolved path -> sha256 of its content
    blocks: list[Block] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    features: dict[str, Any] = field(default_factory=dict)
    # language -> [(key, label)] in order; a `sections` block with `language: vi` is the vi list
    sections: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    default_language: str = "*"
    languages: list[str] = field(default_factory=list)
    terms: dict[str, Text] = field(default_factory=dict)
    auto_terms: dict[str, Text] = field(default_factory=dict)  # linked wherever the phrase appears
    providers: dict[str, list[Block]] = field(default_factory=dict)
    generic_providers: dict[str, dict[str, list[Block]]] = field(default_factory=dict)
    events: dict[str, list[Block]] = field(default_factory=dict)
    ordered: list[Block] = field(default_factory=list)  # initial + mandatory blocks in file order
    reconsider_vars: list[str] = field(default_factory=list)
    dependents: dict[str, set[str]] = field(default_factory=dict)
    readers: dict[str, set[str]] = field(default_factory=dict)  # var -> ids of mandatory blocks reading it
    by_id: dict[str, Block] = field(default_factory=dict)
    accord: agreement.AccordBlocks = field(default_factory=agreement.AccordBlocks)
    builtins: dict[str, Any] = field(default_factory=dict)
    order_names: list[str] = field(default_factory=list)
    block_languages: set[str] = field(default_factory=set)
    modules: dict[str, Any] = field(default_factory=dict)  # safe stand-ins for `imports:`
    signing_vars: set[str] = field(default_factory=set)  # set by parties' `fields:` while signing
    _language_cache: dict[tuple[int, str], tuple[list[Block], list[Block]]] = field(
        default_factory=dict, repr=False, compare=False)

    def defined_names(self) -> set[str]:
        """Every root name the interview can give a value to, plus what the sandbox provides."""
        names = set(self.builtins) | {"url_args", "x", "i", "j", "k", "l", "m", "n"}
        for var in list(self.providers) + [v for table in self.generic_providers.values() for v in table]:
            names.add(var.split(".", 1)[0].split("[", 1)[0])
        names.update(v.split(".", 1)[0].split("[", 1)[0] for v in self.signing_vars)
        return names

    def languages_used(self) -> list[str]:
        """The languages the interview speaks: `metadata: languages`, else those of its blocks."""
        if self.languages:
            return list(self.languages)
        found = sorted(b.language for b in self.blocks if b.language != "*") or ["en"]
        return list(dict.fromkeys(found))

    def accord_needs(self) -> dict[str, list[str]]:
        """The variables each Accord block reads: what must be answered before signing."""
        return {block: [n for n in names if n not in self.builtins]
                for block, names in agreement.needs(self.accord).items()}
    currency: str = "USD"

    def start(self, lang: str | None = None, url_args: dict[str, Any] | None = None) -> Any:
        from engine.state import State

        language = lang or (self.default_language if self.default_language != "*" else "en")
        state = State(interview=self.source_hash, lang=language, url_args=dict(url_args or {}))
        return state

    @property
    def title(self) -> str:
        return str(self.metadata.get("title", Path(self.file).stem))

    def candidates(self, var: str, lang: str) -> list[Block]:
        blocks = self.providers.get(var)
        if not blocks:
            return []
        return self._by_language(blocks, lang)

    def _by_language(self, blocks: list[Block], lang: str) -> list[Block]:
        """The blocks of `blocks` in `lang` (or for every language), else in the default one.
        Remembered per list and language: the interview never changes after load, planning asks
        this for every variable it seeks, and callers only read the list."""
        key = (id(blocks), lang)
        found = self._language_cache.get(key)
        if found is not None and found[0] is blocks:
            return found[1]
        own = [b for b in blocks if b.language in (lang, "*")]
        if not own:
            own = [b for b in blocks if b.language == self.default_language]
        self._language_cache[key] = (blocks, own)
        return own
