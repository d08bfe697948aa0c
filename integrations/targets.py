"""The SSRF guard for every outbound call (webhooks, connectors, provisioning).

A URL must be http(s) with a host; every address its host resolves to is checked, and one that
is loopback, private, link-local (cloud metadata at 169.254.169.254), multicast, reserved or
unspecified refuses the call unless the firm allows private targets. Redirects are never
followed (`integrations.http`), so a public URL cannot bounce the call to a private one.

Known gap: the address is checked at resolution and then resolved again by the HTTP client, so
a DNS server that changes its answer between the two (rebinding) is not stopped here; put the
workers behind an egress proxy that enforces the same rule where that matters."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class TargetRefused(Exception):
    """The URL is not one Accord may call (the message says why, safe to show the firm)."""


def _forbidden(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (address.is_loopback or address.is_private or address.is_link_local or address.is_multicast
            or address.is_reserved or address.is_unspecified or not address.is_global)


def check(url: str, *, allow_private: bool = False) -> None:
    """Raise `TargetRefused` unless `url` may be called (see the module docstring)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("the URL must start with http:// or https:// and name a host")
    if parts.username or parts.password:
        raise TargetRefused("the URL must not carry a user name or password")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80),
                                   type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TargetRefused(f"the host {parts.hostname} does not resolve") from exc
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if _forbidden(address):
            raise TargetRefused(f"the host {parts.hostname} resolves to a private or loopback address "
                                f"({address}); the firm's settings do not allow private targets")
