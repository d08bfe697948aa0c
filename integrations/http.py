"""One outbound HTTP call: SSRF-checked, 10 s timeout, no redirects, bounded response kept.

The host is resolved once (`targets.resolve`) and the connection goes to exactly the address
that was checked: the request's URL names the IP, the `Host` header keeps the URL's host, and for
https the TLS server name (SNI) and the certificate check use the host name (httpcore's
`sni_hostname` request extension), so DNS rebinding cannot slip a private address in between."""

from __future__ import annotations

import ssl
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


def _connect_failure(exc: BaseException, host: str) -> str:
    """`ConnectError`, or what was wrong with the certificate (the TLS check is part of connecting)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return f"ConnectError: the TLS certificate is not valid for {host} ({seen.verify_message})"
        seen = seen.__cause__ or seen.__context__
    return type(exc).__name__


def call(method: str, url: str, *, allow_private: bool, headers: dict[str, str] | None = None,
         content: bytes | None = None, data: dict[str, str] | None = None, timeout: float = TIMEOUT,
         verify: ssl.SSLContext | bool = True, resolver: targets.Resolver | None = None) -> Result:
    """Make the call; never raises for network trouble (the result says what went wrong).

    `verify`: an SSL context trusting other roots (a firm's internal CA), default the public
    roots. `resolver`: `socket.getaddrinfo` unless given (tests)."""
    started = time.monotonic()
    try:
        pinned = targets.resolve(url, allow_private=allow_private, resolver=resolver)
    except targets.TargetRefused as exc:
        return Result(ok=False, error=f"refused: {exc}")
    target = httpx.URL(url)
    sent = {"Host": target.netloc.decode("ascii"), **(headers or {})}
    extensions = {"sni_hostname": target.raw_host.decode("ascii")} if target.scheme == "https" else {}
    response: httpx.Response | None = None
    failure = "ConnectError"
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False, verify=verify) as client:
            for address in pinned.addresses:  # the checked addresses, in the resolver's order
                try:
                    response = client.request(method, target.copy_with(host=address), headers=sent,
                                              content=content, data=data, extensions=extensions)
                    break
                except httpx.ConnectError as exc:  # that address is down: the next one (if any)
                    failure = _connect_failure(exc, pinned.host)
    except httpx.HTTPError as exc:
        return Result(ok=False, error=type(exc).__name__, duration_ms=int((time.monotonic() - started) * 1000))
    ms = int((time.monotonic() - started) * 1000)
    if response is None:
        return Result(ok=False, error=failure, duration_ms=ms)
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
