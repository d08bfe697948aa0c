"""Lists, dicts and sets gathered by asking, with docassemble's gathering protocol.

A list asks `there_are_any`, then each item, then `there_is_another`, keeping every step in its
attributes so a session can stop and resume mid-list; a dict asks for keys the same way; a
list with `auto_gather=False` waits for a block to set `gathered`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from engine.objects import DAObject, Individual, UndefinedItem, _item_name, make


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

    def gather(self, **kwargs: Any) -> bool:
        raise NotImplementedError

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

    def gather(self, **kwargs: Any) -> bool:
        """Ask for items until `there_is_another` is False. Every step is kept in attributes
        (`adding` is the index being filled), so a session can stop and resume mid-list."""
        if self.__dict__.get("gathered"):
            return True
        if self.ask_number:
            while len(self.elements) < int(self.target_number):
                self._new_item(len(self.elements))
            for item in self.elements:
                self._complete(item)
            self.gathered = True
            return True
        if not self.elements and self.adding is False:
            if not self.there_are_any:
                self.gathered = True
                return True
            self.adding = 0
        for item in self.elements:
            self._complete(item)
        while True:
            if self.adding is not False:
                index = int(self.adding)
                if index >= len(self.elements):
                    self._new_item(index)
                self._complete(self.elements[index])
                self.adding = False
                continue
            if self.there_is_another:
                self.__dict__.pop("there_is_another", None)
                self.adding = len(self.elements)
                continue
            break
        self.__dict__.pop("there_is_another", None)
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
        if index == len(self.elements):
            self.elements.append(value)
        else:
            self.elements[index] = value

    def __contains__(self, item: Any) -> bool:
        self._trigger()
        return item in self.elements

    def append(self, *items: Any) -> None:
        self.elements.extend(items)

    def appendObject(self, *args: Any, **kwargs: Any) -> Any:  # noqa: N802
        return self._new_item(len(self.elements))

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


    def gather(self, **kwargs: Any) -> bool:
        if self.__dict__.get("gathered"):
            return True
        if not self.elements and self.adding is False:
            if not self.there_are_any:
                self.gathered = True
                return True
            self.adding = True
        while True:
            if self.adding is not False:
                key = self.new_item_name
                if self.object_type is not None and key not in self.elements:
                    self.elements[key] = make(self.object_type, _item_name(self.instanceName, key))
                self[key]  # noqa: B018 - asks for the value
                self._complete(self.elements[key])
                self.adding = False
                self.__dict__.pop("new_item_name", None)
                continue
            for item in self.elements.values():
                self._complete(item)
            if self.there_is_another:
                self.__dict__.pop("there_is_another", None)
                self.adding = True
                continue
            break
        self.__dict__.pop("there_is_another", None)
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

    def all_true(self) -> bool:
        self._trigger()
        return all(v is True for v in self.elements.values())

    def all_false(self) -> bool:
        self._trigger()
        return all(v is False for v in self.elements.values())

    def any_true(self) -> bool:
        return not self.all_false()

    def any_false(self) -> bool:
        return not self.all_true()



    def __str__(self) -> str:
        from engine.functions import comma_and_list

        return comma_and_list(*[str(k) for k in self])


class PartyList(DAList):
    """docassemble.base.legal's list of people: a DAList of Individuals."""

    def init(self, **kwargs: Any) -> None:
        kwargs.setdefault("object_type", Individual)
        super().init(**kwargs)


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
