"""Running a coroutine from synchronous code (the CLI), whether or not the calling thread already has
a running event loop (it does under Playwright's sync API in the test suite): then it runs in a
worker thread with a loop of its own, since asyncio.run refuses to nest."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
