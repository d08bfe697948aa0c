"""JSON in and out of the database (and the API's bodies) with orjson, falling back to the
standard library where orjson is stricter, so no value that was storable before stops being so.

Why: encoding and decoding a session's state was about a tenth of a step's CPU time in
`bench/web.py` with the standard `json` module; orjson does the same work several times
faster. orjson refuses integers beyond 64 bits (an applicant can type one); `json` takes them,
so those (rare) values go through `json`. Reading, orjson refuses `NaN`/`Infinity` literals that
`json` accepts; a fallback keeps reading what was written before.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS


def dumps_bytes(value: Any) -> bytes:
    """UTF-8 JSON, compact."""
    try:
        return orjson.dumps(value, option=_OPTIONS)
    except TypeError:  # an integer past 64 bits, or a type orjson does not know: as `json` does
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def dumps(value: Any) -> str:
    """JSON text (SQLAlchemy's `json_serializer` wants `str`)."""
    return dumps_bytes(value).decode("utf-8")


def loads(data: str | bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)  # NaN/Infinity or an integer orjson cannot hold; raises if not JSON at all
