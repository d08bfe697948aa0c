"""Retry timing: exponential backoff from 10 s doubling to a 1 h cap, for 3 days.

Attempt n (1-based) failed → the next one waits `delay(n)`: 10 s, 20 s, 40 s … 1 h, 1 h …
A delivery still failing `RETRY_FOR` after its first attempt is given up (`failed`); it can be
sent again by hand (`accord webhook resend`)."""

from __future__ import annotations

import datetime as dt

BASE = dt.timedelta(seconds=10)
CAP = dt.timedelta(hours=1)
RETRY_FOR = dt.timedelta(days=3)


def delay(attempts: int) -> dt.timedelta:
    if attempts < 1:
        return dt.timedelta(0)
    return min(BASE * (2 ** min(attempts - 1, 20)), CAP)
