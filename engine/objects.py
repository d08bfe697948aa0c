"""The docassemble object kinds the corpus needs, and their plain-JSON form.

Objects know their own variable name (`instanceName`) so that reading an attribute or item
that has no value yet can say exactly which variable is missing (``kids[0].name.first``): the
planner asks the question that defines it. State never holds pickles: `to_json`/`from_json`
round-trip every value the sandbox can produce.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

CLASSES: dict[str, type[DAObject]] = {}

# Lists being gathered right now (docassemble's "gathering mode"): while the planner asks
# `fruit.there_is_another`, printing `fruit` shows the items so far instead of gathering again.
class _Gathering(threading.local):
    def __init__(self) -> None:
        self.names: set[str] = set()


GATHERING = _Gathering()  # per thread, like the rest of a plan's working state


class UndefinedAttribute(AttributeError):
    def __init__(self, var: str) -> None:
        super().__init__(f"{var} is not defined")
        self.var = var


class UndefinedItem(LookupError):
    def __init__(self, var: str) -> None:
        super().__init__(f"{var} is not defined")
        self.var = var


def _item_name(base: str, key: Any) -> str:
    return f"{base}[{key!r}]"


class DAObject:
    """Base object: attributes are answers; a missing one is a question to ask."""

    _internal_attrs: tuple[str, ...] = ()

    def __init__(self, instanceName: str = "", **kwargs: Any) -> None:  # noqa: N803 - docassemble's spelling
        object.__setattr__(self, "instanceName", instanceName)
        self.init(**kwargs)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        CLASSES[cls.__name__] = cls

    def init(self, **kwargs: Any) -> None:
        for key, value in kwargs.items():
            setattr(self, key, value)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        raise UndefinedAttribute(f"{self.instanceName}.{name}")

    def attr_name(self, name: str) -> str:
        return f"{self.instanceName}.{name}"

    def object_name(self) -> str:
        return self.instanceName

    def initializeAttribute(self, name: str, cls: type[DAObject] | Any, **kwargs: Any) -> DAObject:  # noqa: N802
        if name in self.__dict__:
            return self.__dict__[name]  # type: ignore[no-any-return,unused-ignore]
        obj = make(cls, self.attr_name(name), **kwargs)
        setattr(self, name, obj)
        return obj

    def __str__(self) -> str:
        return self.instanceName

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.instanceName!r})"

    @classmethod
    def using(cls, **kwargs: Any) -> Factory:
        return Factory(cls, kwargs)

    def is_defined(self, name: str) -> bool:
        return name in self.__dict__

    def attributes(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "instanceName"}


class Factory:
    """`DAList.using(object_type=Individual)`: a class with preset keyword arguments."""

    def __init__(self, cls: type[DAObject], kwargs: dict[str, Any]) -> None:
        self.cls = cls
        self.kwargs = kwargs

    def __call__(self, instanceName: str = "", **kwargs: Any) -> DAObject:  # noqa: N803
        return self.cls(instanceName, **{**self.kwargs, **kwargs})

    def using(self, **kwargs: Any) -> Factory:
        return Factory(self.cls, {**self.kwargs, **kwargs})


def make(cls: Any, name: str, **kwargs: Any) -> DAObject:
    if isinstance(cls, Factory):
        return cls(name, **kwargs)
    if isinstance(cls, type) and issubclass(cls, DAObject):
        return cls(name, **kwargs)
    raise TypeError(f"{cls!r} is not an object type")


class DAEmpty(DAObject):
    def __str__(self) -> str:
        return ""


class IndividualName(DAObject):
    def full(self, middle: str = "initial", **kwargs: Any) -> str:
        parts = [self.first]
        mid = self.__dict__.get("middle")
        if mid:
            parts.append(mid[0] + "." if middle == "initial" else mid)
        last = self.__dict__.get("last")
        if last:
            parts.append(last)
        suffix = self.__dict__.get("suffix")
        if suffix:
            parts.append(suffix)
        return " ".join(str(p) for p in parts)

    def firstlast(self) -> str:
        return f"{self.first} {self.__dict__.get('last', '')}".strip()

    def lastfirst(self) -> str:
        return f"{self.__dict__.get('last', '')}, {self.first}".strip(", ")

    def familiar(self) -> str:
        return str(self.first)

    def __str__(self) -> str:
        return self.full()


class Address(DAObject):
    def block(self) -> str:
        """Street, unit, city, state and zip on lines; reading the street asks for the address."""
        street = str(self.address)
        unit = self.__dict__.get("unit")
        line2 = f"{self.city}, {self.state}" + (f" {self.__dict__['zip']}" if self.__dict__.get("zip") else "")
        return "\n".join([street + (f", {unit}" if unit else ""), line2])

    def on_one_line(self) -> str:
        return self.block().replace("\n", ", ")

    def __str__(self) -> str:
        return self.on_one_line()


class Person(DAObject):
    def address_block(self) -> str:
        return f"{self.name}\n{self.address.block()}"

    def init(self, **kwargs: Any) -> None:
        if "name" not in kwargs:
            self.initializeAttribute("name", DAObject)
        if "address" not in kwargs:
            self.initializeAttribute("address", Address)
        super().init(**kwargs)

    def __str__(self) -> str:
        return str(self.name)


class Individual(Person):
    def init(self, **kwargs: Any) -> None:
        if "name" not in kwargs:
            self.initializeAttribute("name", IndividualName)
        super().init(**kwargs)

    def familiar(self) -> str:
        return str(self.name.familiar())

    def possessive(self, target: str) -> str:
        return f"{self.name.full()}'s {target}"

    def age_in_years(self, decimals: bool = False, as_of: Any = None) -> int | float:
        """docassemble: whole years since `birthdate` (asks for it), as of today or `as_of`."""
        born = self.birthdate
        born = born.date() if isinstance(born, dt.datetime) else born
        today = as_of.date() if isinstance(as_of, dt.datetime) else (as_of or dt.date.today())
        if decimals:
            return round((today - born).days / 365.2425, 2)
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


class Organization(Person):
    pass


class DAFile(DAObject):
    """An uploaded file or a drawn signature: a reference, never the bytes."""

    def __str__(self) -> str:
        return str(self.__dict__.get("filename", "file"))

    def show(self, **kwargs: Any) -> str:
        return f"[{self.__dict__.get('filename', 'file')}]"


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


class Name(DAObject):
    """The name of a Thing: just text."""

    def full(self, **kwargs: Any) -> str:
        return str(self.text)

    def __str__(self) -> str:
        return self.full()


class Thing(DAObject):
    def init(self, **kwargs: Any) -> None:
        if "name" not in kwargs:
            self.initializeAttribute("name", Name)
        super().init(**kwargs)

    def __str__(self) -> str:
        return str(self.name)


class PartyList(DAList):
    """docassemble.base.legal's list of people: a DAList of Individuals."""

    def init(self, **kwargs: Any) -> None:
        kwargs.setdefault("object_type", Individual)
        super().init(**kwargs)


class DATemplate(DAObject):
    """A rendered `template` (or table, or document text): prints as its content."""

    def __str__(self) -> str:
        return str(self.__dict__.get("content", ""))

    def show(self, **kwargs: Any) -> str:
        return str(self)


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


class DADateTime(dt.datetime):
    """A date answer: formats itself the way docassemble does."""

    def format(self, format: str = "long", language: str | None = None) -> str:  # noqa: A002
        from engine.functions import format_date

        return format_date(self, format=format)

    def __str__(self) -> str:
        from engine.functions import format_date

        return format_date(self)

    def plus(self, **kwargs: Any) -> DADateTime:
        from dateutil.relativedelta import relativedelta

        return as_dadatetime(self + relativedelta(**kwargs))

    def minus(self, **kwargs: Any) -> DADateTime:
        from dateutil.relativedelta import relativedelta

        return as_dadatetime(self - relativedelta(**kwargs))

    @property
    def dow(self) -> int:
        return self.isoweekday()


def as_dadatetime(value: dt.date | dt.datetime) -> DADateTime:
    if isinstance(value, dt.datetime):
        return DADateTime(value.year, value.month, value.day, value.hour, value.minute, value.second,
                          value.microsecond, value.tzinfo)
    return DADateTime(value.year, value.month, value.day)


# -- JSON --------------------------------------------------------------------------------------

def to_json(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else str(value)
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, DADateTime):
        return {"$t": "date", "v": value.isoformat()}
    if isinstance(value, dt.datetime):
        return {"$t": "datetime", "v": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$t": "pydate", "v": value.isoformat()}
    if isinstance(value, dt.time):
        return {"$t": "time", "v": value.isoformat()}
    if isinstance(value, dict):
        return {"$t": "dict", "v": [[to_json(k), to_json(v)] for k, v in value.items()]}
    if isinstance(value, set | frozenset):
        return {"$t": "set", "v": [to_json(v) for v in value]}
    if isinstance(value, DAObject):
        return {"$t": "obj", "c": type(value).__name__, "n": value.instanceName,
                "a": {k: to_json(v) for k, v in value.__dict__.items() if k != "instanceName"}}
    if isinstance(value, Factory):
        return {"$t": "factory", "c": value.cls.__name__, "a": {k: to_json(v) for k, v in value.kwargs.items()}}
    if isinstance(value, type) and issubclass(value, DAObject):
        return {"$t": "class", "c": value.__name__}
    raise TypeError(f"a value of type {type(value).__name__} cannot be saved")


def from_json(data: Any) -> Any:
    if isinstance(data, list):
        return [from_json(v) for v in data]
    if not isinstance(data, dict):
        return data
    kind = data.get("$t")
    if kind == "date":
        return as_dadatetime(dt.datetime.fromisoformat(data["v"]))
    if kind == "datetime":
        return dt.datetime.fromisoformat(data["v"])
    if kind == "pydate":
        return dt.date.fromisoformat(data["v"])
    if kind == "time":
        return dt.time.fromisoformat(data["v"])
    if kind == "dict":
        return {_hashable(from_json(k)): from_json(v) for k, v in data["v"]}
    if kind == "set":
        return {_hashable(from_json(v)) for v in data["v"]}
    if kind == "obj":
        cls = CLASSES[data["c"]]
        obj = cls.__new__(cls)
        object.__setattr__(obj, "instanceName", data["n"])
        for k, v in data["a"].items():
            object.__setattr__(obj, k, from_json(v))
        return obj
    if kind == "factory":
        return Factory(CLASSES[data["c"]], {k: from_json(v) for k, v in data["a"].items()})
    if kind == "class":
        return CLASSES[data["c"]]
    raise ValueError(f"unknown saved value {data!r}")


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


OBJECT_NAMES = {name: cls for name, cls in CLASSES.items()}
