"""Read an interview file into blocks, keeping the line of every key.

docassemble splits a file on lines matching ``^--- *$`` (not a YAML stream parse) and reads
each block with YAML 1.2 scalars, so ``Yes``/``No``/``on``/``off`` stay strings. We do the same
with PyYAML: its 1.1 boolean resolver is replaced by the 1.2 core-schema one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from engine.errors import Problem

try:  # the C parser is ~10x faster; the pure one behaves the same
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]


class Map(dict[str, Any]):
    """A YAML mapping that remembers where it and each of its keys came from."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class Seq(list[Any]):
    line: int = 0
    item_lines: list[int]


class _Loader(_BaseLoader):
    line_offset = 0  # where the block starts in the file, for messages about earlier lines


_BOOL_12 = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL_12, list("tTfF"))


def _bool(loader: _Loader, node: yaml.ScalarNode) -> bool:
    return str(node.value).lower() == "true"


def _map(loader: _Loader, node: yaml.MappingNode) -> Map:
    result = Map()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark
            )
        skey = key if isinstance(key, str) else ("True" if key is True else "False" if key is False else str(key))
        if skey in result:  # PyYAML would keep the last silently; an author meant something else
            first = result.key_lines[skey] + loader.line_offset
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {skey!r} (first on line {first})", key_node.start_mark
            )
        result[skey] = loader.construct_object(value_node, deep=True)
        result.key_lines[skey] = key_node.start_mark.line + 1
    return result


def _seq(loader: _Loader, node: yaml.SequenceNode) -> Seq:
    result = Seq(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


def _timestamp_as_text(loader: _Loader, node: yaml.ScalarNode) -> str:
    # Dates such as `max: 2008-01-01` stay text; the engine parses them where a date is meant.
    return str(node.value)


_Loader.add_constructor("tag:yaml.org,2002:bool", _bool)
_Loader.add_constructor("tag:yaml.org,2002:map", _map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _seq)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)
_Loader.add_constructor("tag:yaml.org,2002:omap", _map)


@dataclass
class RawBlock:
    """One `---`-separated document: its data (or None if empty) and its first line."""

    data: Any
    line: int


_SPLIT = re.compile(r"^--- *$", re.MULTILINE)


def split_blocks(text: str) -> list[tuple[str, int]]:
    """Split like docassemble: on `---` lines; returns (text, first line number) pairs."""
    text = text.replace("\t", "  ")
    out: list[tuple[str, int]] = []
    start = 0
    line = 1
    for m in _SPLIT.finditer(text):
        chunk = text[start : m.start()]
        out.append((chunk, line))
        line += chunk.count("\n") + m.group(0).count("\n") + 1
        start = m.end() + 1
    out.append((text[start:], line))
    return out


def read_blocks(text: str, file: str, problems: list[Problem]) -> list[RawBlock]:
    """Parse every block; a YAML syntax error becomes a Problem and the block is skipped."""
    blocks: list[RawBlock] = []
    for chunk, first_line in split_blocks(text):
        stripped = chunk.strip()
        if stripped in ("", "..."):
            continue
        if stripped.endswith("\n..."):
            chunk = chunk.rstrip()[:-3]
        try:
            loader = _Loader(chunk)
            loader.line_offset = first_line - 1
            try:
                data = loader.get_single_data()
            finally:
                loader.dispose()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = first_line + (mark.line if mark else 0)
            what = exc.problem or exc.context or "invalid YAML"
            problems.append(Problem(file, line, f"YAML syntax error: {what}"))
            continue
        except yaml.YAMLError as exc:
            problems.append(Problem(file, first_line, f"YAML error: {exc}"))
            continue
        if data is None:
            continue
        _shift_lines(data, first_line - 1)
        blocks.append(RawBlock(data, first_line if not isinstance(data, Map) else data.line))
    return blocks


def _shift_lines(value: Any, offset: int) -> None:
    if isinstance(value, Map):
        value.line += offset
        value.key_lines = {k: v + offset for k, v in value.key_lines.items()}
        for v in value.values():
            _shift_lines(v, offset)
    elif isinstance(value, Seq):
        value.line += offset
        value.item_lines = [v + offset for v in value.item_lines]
        for v in value:
            _shift_lines(v, offset)
