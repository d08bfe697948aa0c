"""One outbound HTTP call: SSRF-checked, 10 s timeout, no redirects, bounded response kept."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from integrations import targets

TIMEOUT = 10.0
KEEP = 4000  # characters of a response body kept in the delivery log


@dataclass
class Result:
    ok: bool
    status: int | None = None
    body: str = ""
    error: str | None = None
    duration_ms: int = 0
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def call(method: str, url: str, *, allow_private: bool, headers: dict[str, str] | None = None,
         content: bytes | None = None, data: dict[str, str] | None = None, timeout: float = TIMEOUT) -> Result:
    """Make the call; never raises for network trouble (the result says what went wrong)."""
    started = time.monotonic()
    try:
        targets.check(url, allow_private=allow_private)
    except targets.TargetRefused as exc:
        return Result(ok=False, error=f"refused: {exc}")
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            response = client.request(method, url, headers=headers, content=content, data=data)
    except httpx.HTTPError as exc:
        return Result(ok=False, error=type(exc).__name__, duration_ms=int((time.monotonic() - started) * 1000))
    ms = int((time.monotonic() - started) * 1000)
    text = response.text[:KEEP]
    parsed: Any = None
    if response.headers.get("content-type", "").startswith("application/json"):
        try:
            parsed = response.json()
        except ValueError:
            parsed = None
    ok = 200 <= response.status_code < 300
    return Result(ok=ok, status=response.status_code, body=text, duration_ms=ms, json=parsed,
                  error=None if ok else f"HTTP {response.status_code}", headers=dict(response.headers))
