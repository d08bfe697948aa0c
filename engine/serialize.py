"""Session values as plain JSON, never pickle: every value the sandbox can produce
round-trips (dates, sets, dicts with any keys, objects with their class and name)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from engine import groups  # noqa: F401 - registers the list and dict classes in CLASSES
from engine.objects import CLASSES, DADateTime, DAObject, Factory, as_dadatetime


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
