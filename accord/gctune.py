"""The cyclic garbage collector's settings for Accord's long-running processes (`accord serve`,
`accord worker`).

Why: with CPython's defaults (thresholds 700, 10, 10) a server under load ran a full collection
every 3 to 4 s, and each walked every object of the process (the compiled interviews, the
modules, SQLAlchemy's metadata, the screens kept for the next step: 150 to 190 ms each, the whole
process stopped meanwhile). In `bench/web.py` that was 400 ms of the 5 s step run, 8 % of a step's
CPU time, and as many latency spikes. So, once the process is set up:

- `gc.freeze()`: what exists by then (the application itself) lives as long as the process and
  is never garbage; the collector stops walking it.
- thresholds 10,000 / 10 / 100: a young collection per 10,000 net allocations instead of 700
  (the garbage of a step dies young and is still collected there), and a full collection only
  after 100 middle ones (CPython's own rule still waits until a quarter of the long-lived
  objects are new). Measured: the collector's time in the step run fell from 400 to 70 ms.
"""

from __future__ import annotations

import gc
import logging

THRESHOLDS = (10_000, 10, 100)
log = logging.getLogger("accord.gc")


def tune() -> None:
    """Freeze what the process holds now and set `THRESHOLDS`: call it once the application is
    built, just before serving."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    log.info("garbage collector tuned: %d objects frozen, thresholds %s", gc.get_freeze_count(),
             "/".join(str(t) for t in THRESHOLDS))
