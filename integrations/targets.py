"""The SSRF guard for every outbound call (webhooks, connectors, provisioning).

A URL must be http(s) with a host; every address its host resolves to is checked, and one that
is loopback, private, link-local (cloud metadata at 169.254.169.254), multicast, reserved or
unspecified refuses the call unless the firm allows private targets. Redirects are never
followed (`integrations.http`), so a public URL cannot bounce the call to a private one.

Rebinding: `resolve` looks the host up once and `integrations.http` connects to exactly the
addresses it checked (the URL's host name still goes in the Host header, the TLS SNI and the
certificate check), so a DNS server that answers differently the second time is never asked a
second time."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit


class TargetRefused(Exception):
    """The URL is not one Accord may call (the message says why, safe to show the firm)."""


def _forbidden(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (address.is_loopback or address.is_private or address.is_link_local or address.is_multicast
            or address.is_reserved or address.is_unspecified or not address.is_global)


Resolver = Callable[..., list[tuple[Any, ...]]]  # socket.getaddrinfo's signature


@dataclass(frozen=True)
class Pinned:
    """A checked URL: its host name and port, and the addresses to connect to (in resolver order)."""

    host: str
    port: int
    addresses: tuple[str, ...]


def _parts(url: str) -> SplitResult:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("the URL must start with http:// or https:// and name a host")
    if parts.username or parts.password:
        raise TargetRefused("the URL must not carry a user name or password")
    return parts


def check(url: str, *, allow_private: bool = False) -> None:
    """Raise `TargetRefused` unless `url` may be called (see the module docstring). When private
    targets are allowed the host is not looked up here (an endpoint may be added before its DNS)."""
    _parts(url)
    if not allow_private:
        resolve(url, allow_private=False)


def resolve(url: str, *, allow_private: bool = False, resolver: Resolver | None = None) -> Pinned:
    """Look the host up once, check every address (unless private targets are allowed) and return
    them for the connection to use: the only resolution of the call."""
    parts = _parts(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise TargetRefused("the URL's port is not a number between 0 and 65535") from exc
    lookup = resolver or socket.getaddrinfo  # looked up now, so a test may patch socket.getaddrinfo
    try:
        infos = lookup(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise TargetRefused(f"the host {host} does not resolve") from exc
    addresses: list[str] = []
    for info in infos:
        text = str(info[4][0]).split("%", 1)[0]
        address = ipaddress.ip_address(text)
        if not allow_private and _forbidden(address):
            raise TargetRefused(f"the host {host} resolves to a private or loopback address "
                                f"({address}); the firm's settings do not allow private targets")
        if text not in addresses:
            addresses.append(text)
    if not addresses:
        raise TargetRefused(f"the host {host} does not resolve")
    return Pinned(host=host, port=port, addresses=tuple(addresses))
