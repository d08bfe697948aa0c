"""Webhook signatures: HMAC-SHA256 over `"{timestamp}.{body}"`, sent as

    Accord-Signature: t=1764270000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd

with one `v1=` per active secret of the endpoint (during a rotation the old and the new secret
both sign). A receiver recomputes the HMAC with its secret, compares in constant time with any
`v1`, and refuses a timestamp further than `TOLERANCE` seconds from its clock (replay window).
The same recipe is in `docs/webhooks.md` (Python and JavaScript)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

HEADER = "Accord-Signature"
TOLERANCE = 300  # seconds


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def header(secrets: Iterable[str], timestamp: int, body: bytes) -> str:
    return ",".join([f"t={timestamp}", *(f"v1={sign(s, timestamp, body)}" for s in secrets)])


def verify(secret: str, value: str, body: bytes, now: float, tolerance: int = TOLERANCE) -> bool:
    """True when `value` (the header) holds a valid signature of `body` by `secret`, made within
    `tolerance` seconds of `now`."""
    parts = [p.split("=", 1) for p in value.split(",") if "=" in p]
    stamps = [v for k, v in parts if k == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    timestamp = int(stamps[0])
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body)
    return any(hmac.compare_digest(expected, v) for k, v in parts if k == "v1")
