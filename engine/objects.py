"""The docassemble object kinds interviews use: people, names, addresses, files, dates.

Objects know their own variable name (`instanceName`) so that reading an attribute that has no
value yet can say exactly which variable is missing (``client.name.first``): the planner asks
the question that defines it. Lists and dicts live in `engine.groups`; their JSON form in
`engine.serialize`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

CLASSES: dict[str, type[DAObject]] = {}

# Lists being gathered right now (docassemble's "gathering mode"): while the planner asks
# `fruit.there_is_another`, printing `fruit` shows the items so far instead of gathering again.


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


def _unnamed(name: str) -> bool:
    """An object made in code without a name (`DAObject()`), or a part of one (`.name`)."""
    return name == "" or name[0] in ".["


def adopt(value: Any, name: str) -> None:
    """Give an object made in code (`park.gate = DAObject()`, `kids.append(Individual())`) the
    name of the place it is stored, as docassemble does, with its parts (`park.gate.name`), so
    that reading a missing attribute asks for `park.gate.color`. Named objects keep their name."""
    if isinstance(value, DAObject) and _unnamed(value.instanceName) and not _unnamed(name):
        _rename(value, value.instanceName, name, set())


def _rename(obj: DAObject, old: str, new: str, seen: set[int]) -> None:
    if id(obj) in seen:
        return
    seen.add(id(obj))
    current = obj.instanceName
    if current != old and not current.startswith((old + ".", old + "[")):
        return
    object.__setattr__(obj, "instanceName", new + current[len(old):])
    parts: list[Any] = list(obj.__dict__.values())
    elements = obj.__dict__.get("elements")
    if isinstance(elements, dict):
        parts += list(elements.values())
    elif isinstance(elements, list | tuple | set):
        parts += list(elements)
    for part in parts:
        if isinstance(part, DAObject):
            _rename(part, old, new, seen)


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

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, DAObject) and name != "instanceName":
            adopt(value, self.attr_name(name))
        object.__setattr__(self, name, value)

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


def make(cls: Any, name: str, /, **kwargs: Any) -> DAObject:
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
            self.initializeAttribute("name", Name)  # docassemble: a Person's name is a Name (`name.text`)
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

    def salutation(self, **kwargs: Any) -> str:
        """Mr., Ms. or Mx. from `gender` ("male"/"female"/other), as docassemble's Individual does."""
        gender = str(self.__dict__.get("gender", "")).lower()
        return {"male": "Mr.", "female": "Ms."}.get(gender, "Mx.")

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


class Name(DAObject):
    """The name of a Thing: just text."""

    def full(self, **kwargs: Any) -> str:
        return str(self.text)

    def firstlast(self) -> str:
        return self.full()

    def lastfirst(self) -> str:
        return self.full()

    def __str__(self) -> str:
        return self.full()


class Thing(DAObject):
    def init(self, **kwargs: Any) -> None:
        text = kwargs.pop("name") if isinstance(kwargs.get("name"), str) else None
        if "name" not in kwargs:
            self.initializeAttribute("name", Name)
        if text is not None:  # docassemble: `Thing(name='apple pie')` sets `name.text`
            self.name.text = text
        super().init(**kwargs)

    def __str__(self) -> str:
        return str(self.name)


class DATemplate(DAObject):
    """A rendered `template` (or table, or document text): prints as its content."""

    def __str__(self) -> str:
        return str(self.__dict__.get("content", ""))

    def show(self, **kwargs: Any) -> str:
        return str(self)


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
