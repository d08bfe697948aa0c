"""Lists, dicts and sets gathered by asking, with docassemble's gathering protocol.

A list asks `there_are_any`, then each item, then `there_is_another`, keeping every step in its
attributes so a session can stop and resume mid-list; a dict asks for keys the same way; a
list with `auto_gather=False` waits for a block to set `gathered`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from engine.objects import DAObject, Individual, UndefinedItem, _item_name, adopt, make


# Lists being gathered right now (docassemble's "gathering mode"): while the planner asks
# `fruit.there_is_another`, printing `fruit` shows the items so far instead of gathering again.
class _Gathering(threading.local):
    def __init__(self) -> None:
        self.names: set[str] = set()


GATHERING = _Gathering()  # per thread, like the rest of a plan's working state


class DAFileList(DAObject):
    def init(self, **kwargs: Any) -> None:
        self.elements: list[Any] = []
        super().init(**kwargs)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.elements)

    def __len__(self) -> int:
        return len(self.elements)

    def __str__(self) -> str:
        return ", ".join(str(e) for e in self.elements)


class DAGroup(DAObject):
    """What lists and dicts share: docassemble's gathering switches and how they trigger."""

    elements: Any
    gathered: bool
    adding: bool | int
    auto_gather: bool
    ask_number: bool
    DEFAULTS = (("auto_gather", True), ("object_type", None), ("complete_attribute", None), ("ask_number", False),
                ("adding", False))

    def _empty(self) -> Any:
        raise NotImplementedError

    def init(self, **kwargs: Any) -> None:
        self.elements = self._empty()
        for key, default in self.DEFAULTS:
            if key not in kwargs:
                object.__setattr__(self, key, default)
        super().init(**kwargs)

    def gather(self, number: Any = None, minimum: Any = None, **kwargs: Any) -> bool:
        """docassemble's gathering mode: while a group gathers, printing it (say in the text of
        a question that the gathering asks, however indirectly) shows the items so far instead
        of gathering it again."""
        if self.__dict__.get("gathered"):
            return True
        # Like docassemble, the mode stays on when gathering stops to ask something (the
        # planner seeks it next, then gathers again); the planner clears it for every plan.
        GATHERING.names.add(self.instanceName)
        result = self._gather(number, minimum)
        GATHERING.names.discard(self.instanceName)
        return result

    def _gather(self, number: Any, minimum: Any) -> bool:
        raise NotImplementedError

    def _how_many(self, number: Any, minimum: Any) -> tuple[Any, Any]:
        """How many items to gather: `number` (or `target_number` with `ask_number`), else at
        least `minimum` (or `minimum_number`); with neither, `there_are_any` decides 0 or 1."""
        if number is None and self.ask_number:
            number = 0 if self.__dict__.get("there_are_any") is False else int(self.target_number)
        if minimum is None:
            minimum = self.__dict__.get("minimum_number")
        if number is None and not minimum and not self.elements and self.adding is False:
            minimum = 1 if self.there_are_any else 0
        return number, minimum

    def _complete(self, item: Any) -> None:
        attr = self.complete_attribute
        if attr and isinstance(item, DAObject):
            getattr(item, attr)

    def _trigger(self) -> None:
        """docassemble's rule: an auto-gathered list gathers itself; otherwise reading
        `gathered` (undefined until some block sets it) is what asks for the list."""
        if self.__dict__.get("gathered") or self.instanceName in GATHERING.names:
            return
        if self.auto_gather:
            self.gather()
        elif not self.gathered:
            return

    def __bool__(self) -> bool:
        return True

    def __len__(self) -> int:
        self._trigger()
        return len(self.elements)

    def number(self) -> int:
        return len(self)

    def number_as_word(self) -> str:
        from engine.functions import nice_number

        return nice_number(len(self))

    def does_verb(self, verb: str, **kwargs: Any) -> str:
        from engine.functions import verb_past, verb_present

        if kwargs.get("past") or kwargs.get("present") is False:
            return verb_past(verb, "3sg" if len(self) == 1 else "3pl")
        return verb_present(verb, "3sg" if len(self) == 1 else "3pl")

    def did_verb(self, verb: str, **kwargs: Any) -> str:
        from engine.functions import verb_past

        return verb_past(verb, "3sg" if len(self) == 1 else "3pl")

    def as_noun(self, noun: str) -> str:
        return noun if len(self) == 1 else noun + "s"


class DAList(DAGroup):
    """A list gathered by asking: `there_are_any`, each item, then `there_is_another`."""

    # -- gathering -------------------------------------------------------------------------
    def _new_item(self, index: int) -> Any:
        if self.object_type is not None:
            item = make(self.object_type, f"{self.instanceName}[{index}]")
            self.elements.append(item)
            return item
        raise UndefinedItem(f"{self.instanceName}[{index}]")

    def _empty(self) -> list[Any]:
        return []

    def _complete(self, item: Any) -> None:
        super()._complete(item)
        if not self.complete_attribute and self.object_type is not None and isinstance(item, Individual):
            item.name.first  # noqa: B018 - an Individual is complete once named; reading it asks for it

    def _fill(self, index: int) -> None:
        if index >= len(self.elements):
            self._new_item(index)
        self._complete(self.elements[index])

    def _gather(self, number: Any, minimum: Any) -> bool:
        """docassemble's gathering: `number` items (or `target_number` with `ask_number`), else at
        least `minimum` (or `minimum_number`; without one, `there_are_any` decides 0 or 1), then more
        while `there_is_another`. Every step is kept in attributes (`adding` is the index being
        filled), so a session can stop and resume mid-list. Only an `auto_gather` list marks
        itself `gathered`; otherwise the caller does (`x.gathered = x.gather(number=3)`)."""
        if self.__dict__.get("gathered"):
            return True
        number, minimum = self._how_many(number, minimum)
        for item in list(self.elements):
            self._complete(item)
        if minimum:
            while len(self.elements) < int(minimum):
                self._fill(len(self.elements))
        if number is not None:
            while len(self.elements) < int(number):
                self._fill(len(self.elements))
        elif minimum != 0:
            while True:
                if self.adding is not False:
                    self._fill(int(self.adding))
                    self.adding = False
                    continue
                if self.there_is_another:
                    self.__dict__.pop("there_is_another", None)
                    self.adding = len(self.elements)
                    continue
                break
        self.__dict__.pop("there_is_another", None)
        self.adding = False
        if self.auto_gather:
            self.gathered = True
        return True

    def __iter__(self) -> Iterator[Any]:
        self._trigger()
        return iter(self.elements)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return self.elements[index]
        if not isinstance(index, int):
            raise TypeError("list indices must be integers")
        if -len(self.elements) <= index < len(self.elements):
            return self.elements[index]
        if index == len(self.elements) and self.object_type is not None:
            return self._new_item(index)
        raise UndefinedItem(f"{self.instanceName}[{index}]")

    def __setitem__(self, index: int, value: Any) -> None:
        adopt(value, f"{self.instanceName}[{index if index >= 0 else index + len(self.elements)}]")
        if index == len(self.elements):
            self.elements.append(value)
        else:
            self.elements[index] = value

    def __contains__(self, item: Any) -> bool:
        self._trigger()
        return item in self.elements

    def append(self, *items: Any) -> None:
        for item in items:
            adopt(item, f"{self.instanceName}[{len(self.elements)}]")
            self.elements.append(item)

    def extend(self, items: Any) -> None:
        self.append(*items)

    def appendObject(self, *args: Any, **kwargs: Any) -> Any:  # noqa: N802
        """Append a new object: of the class given (`appendObject(Person)`), else `object_type`
        (else `DAObject`); keyword arguments become its attributes."""
        cls = args[0] if args else (self.object_type if self.object_type is not None else DAObject)
        item = make(cls, f"{self.instanceName}[{len(self.elements)}]", **kwargs)
        self.elements.append(item)
        return item

    def add_action(self, label: str | None = None, **kwargs: Any) -> str:
        """A link that adds an item; front ends turn `#add:` links into the add screen."""
        return f"[{label or 'Add an item'}](#add:{self.instanceName})"


    def complete_elements(self) -> list[Any]:
        return list(self.elements)

    def index(self, item: Any) -> int:
        return self.elements.index(item)

    def remove(self, item: Any) -> None:
        self.elements.remove(item)

    def clear(self) -> None:
        self.elements.clear()

    def first(self) -> Any:
        return self[0]

    def last(self) -> Any:
        return self[len(self) - 1]

    def __str__(self) -> str:
        from engine.functions import comma_and_list

        return comma_and_list(*[str(x) for x in self])

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = DAObject.__hash__


class DADict(DAGroup):
    """A dict gathered by asking for keys (`new_item_name`) or filled by code (`auto_gather=False`)."""

    def _empty(self) -> dict[Any, Any]:
        return {}


    def _add_entry(self) -> None:
        """The entry being added: its key (`new_item_name`), then its value, taken from
        `new_item_value` when the same screen asked it, else asked as `dict[key]`."""
        key = self.new_item_name
        if key not in self.elements:
            if "new_item_value" in self.__dict__:
                self[key] = self.__dict__.pop("new_item_value")
            elif self.object_type is not None:
                self.elements[key] = make(self.object_type, _item_name(self.instanceName, key))
        self[key]  # noqa: B018 - asks for the value
        self._complete(self.elements[key])
        self.adding = False
        self.__dict__.pop("new_item_name", None)

    def _gather(self, number: Any, minimum: Any) -> bool:
        """Like `DAList._gather`: `number` entries (or `target_number` with `ask_number`), else at
        least `minimum` (`minimum_number`; without one, `there_are_any` decides), then more while
        `there_is_another`."""
        if self.__dict__.get("gathered"):
            return True
        number, minimum = self._how_many(number, minimum)
        if self.adding is not False:
            self._add_entry()
        for item in list(self.elements.values()):
            self._complete(item)
        wanted = max(int(minimum or 0), int(number or 0))
        while len(self.elements) < wanted:
            self.adding = True
            self._add_entry()
        if number is None and minimum != 0:
            while self.there_is_another:
                self.__dict__.pop("there_is_another", None)
                self.adding = True
                self._add_entry()
        self.__dict__.pop("there_is_another", None)
        if self.auto_gather:
            self.gathered = True
        return True

    def __getitem__(self, key: Any) -> Any:
        if key in self.elements:
            return self.elements[key]
        if self.object_type is not None:
            obj = make(self.object_type, _item_name(self.instanceName, key))
            self.elements[key] = obj
            return obj
        raise UndefinedItem(_item_name(self.instanceName, key))

    def __setitem__(self, key: Any, value: Any) -> None:
        adopt(value, _item_name(self.instanceName, key))
        self.elements[key] = value

    def __delitem__(self, key: Any) -> None:
        del self.elements[key]

    def __contains__(self, key: Any) -> bool:
        return key in self.elements

    def __iter__(self) -> Iterator[Any]:
        self._trigger()
        return iter(self.elements)

    def keys(self) -> list[Any]:
        self._trigger()
        return list(self.elements.keys())

    def values(self) -> list[Any]:
        self._trigger()
        return list(self.elements.values())

    def items(self) -> list[tuple[Any, Any]]:
        self._trigger()
        return list(self.elements.items())

    def get(self, key: Any, default: Any = None) -> Any:
        return self.elements.get(key, default)

    def true_values(self) -> DAList:
        """The keys whose value is True, as a list that prints like "Apple and Plum"."""
        self._trigger()
        return _plain_list(f"{self.instanceName}.true_values()", [k for k, v in self.elements.items() if v is True])

    def false_values(self) -> DAList:
        self._trigger()
        return _plain_list(f"{self.instanceName}.false_values()", [k for k, v in self.elements.items() if v is False])

    def _checked(self, keys: tuple[Any, ...], want: bool, every: bool, exclusive: bool) -> bool:
        """docassemble's all_true/all_false/any_true/any_false: over every key, or only the keys
        given; `exclusive=True` also requires every other key to have the opposite value."""
        self._trigger()
        named = set(_flatten(keys))
        if not named:
            test = all if every else any
            return test((v is True) is want for v in self.elements.values())
        inside = [(v is True) is want for k, v in self.elements.items() if k in named]
        ok = all(inside) if every else any(inside)
        if ok and exclusive:
            ok = all((v is True) is not want for k, v in self.elements.items() if k not in named)
        return ok

    def all_true(self, *keys: Any, exclusive: bool = False) -> bool:
        return self._checked(keys, True, True, exclusive)

    def all_false(self, *keys: Any, exclusive: bool = False) -> bool:
        return self._checked(keys, False, True, exclusive)

    def any_true(self, *keys: Any, exclusive: bool = False) -> bool:
        return self._checked(keys, True, False, exclusive)

    def any_false(self, *keys: Any, exclusive: bool = False) -> bool:
        return self._checked(keys, False, False, exclusive)

    def iteritems(self) -> list[tuple[Any, Any]]:
        return self.items()

    def new(self, *keys: Any) -> None:
        """Create an entry for each key (lists are flattened): a new `object_type` object (a
        `DAObject` without one), unless the key is there already."""
        cls = self.object_type if self.object_type is not None else DAObject
        for key in _flatten(keys):
            if key not in self.elements:
                self.elements[key] = make(cls, _item_name(self.instanceName, key))



    def __str__(self) -> str:
        from engine.functions import comma_and_list

        return comma_and_list(*[str(k) for k in self])


class PartyList(DAList):
    """docassemble.base.legal's list of people: a DAList of Individuals."""

    def init(self, **kwargs: Any) -> None:
        kwargs.setdefault("object_type", Individual)
        super().init(**kwargs)


def _flatten(values: Any) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if isinstance(v, list | tuple | set | DAList):
            out += _flatten(v.elements if isinstance(v, DAList) else v)
        else:
            out.append(v)
    return out


def _plain_list(name: str, items: list[Any]) -> DAList:
    result = DAList(name, auto_gather=False, gathered=True)
    result.elements = items
    return result


class DAChecklist(DADict):
    """The value of a `checkboxes` field: choice -> bool, shown as the checked choices."""

    def __str__(self) -> str:
        from engine.functions import comma_and_list

        return comma_and_list(*[str(k) for k in self.true_values()])


class DASet(DAObject):
    def init(self, **kwargs: Any) -> None:
        self.elements: set[Any] = set()
        super().init(**kwargs)

    def add(self, *items: Any) -> None:
        self.elements.update(items)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.elements)

    def __len__(self) -> int:
        return len(self.elements)

    def __contains__(self, item: Any) -> bool:
        return item in self.elements

    def __str__(self) -> str:
        """Like docassemble: the elements in sorted order as a comma-and list."""
        from engine.functions import comma_and_list

        return comma_and_list(*sorted(str(e) for e in self.elements))
