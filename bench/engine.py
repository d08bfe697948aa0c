"""Engine speed: time to plan the next question over full walks, and load time.

Prints one `name: value unit` line per result. A walk answers every screen with generated
valid answers (seeded); only `plan()` calls are timed, the same unit docassemble's
`Interview.assemble()` figure measures (~0.9 ms loan, 3-4 ms custody on this machine class).

    python bench/engine.py [--walks N]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import engine  # noqa: E402
from accord.autoanswer import answers_for  # noqa: E402
from engine.context import STATS  # noqa: E402

SHARED = Path(os.environ.get("ACCORD_SHARED_DIR") or ROOT.parent / "shared")
TARGETS = {
    "loan": ROOT / "interviews" / "loan_application.yml",
    "dabench": SHARED / "notes" / "docassemble_bench_loan_application.yml",
    "custody": SHARED / "docassemble_corpus" / "harder" / "custody.yml",
}


def walk(iv: engine.Interview, seed: int, timings: list[float]) -> int:
    rng = random.Random(seed)
    state = iv.start()
    screens = 0
    for _ in range(300):
        t0 = time.perf_counter_ns()
        step = engine.plan(iv, state)
        timings.append((time.perf_counter_ns() - t0) / 1e6)
        if isinstance(step, engine.Done) or step.is_end:
            return screens + 1
        screens += 1
        for _attempt in range(30):
            values, button = answers_for(step, rng)
            result = engine.apply(iv, state, step, values, button)
            if not isinstance(result, engine.ValidationErrors):
                break
        else:
            raise SystemExit(f"bench: could not answer {step.block_id}")
    raise SystemExit("bench: walk did not end")


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--walks", type=int, default=30)
    args = parser.parse_args()
    for name, path in TARGETS.items():
        if not path.exists():
            print(f"{name}: skipped (missing {path})")
            continue
        loads = []
        for _ in range(5):
            t0 = time.perf_counter_ns()
            iv = engine.load(path, cache=False)  # a real compile every time
            loads.append((time.perf_counter_ns() - t0) / 1e6)
        engine.load(path)
        cached = []
        for _ in range(20):
            t0 = time.perf_counter_ns()
            engine.load(path)  # unchanged files: the compiled interview is reused
            cached.append((time.perf_counter_ns() - t0) / 1e6)
        for seed in range(3):  # warm-up
            walk(iv, seed, [])
        timings: list[float] = []
        before = STATS.discoveries
        screens = [walk(iv, seed, timings) for seed in range(args.walks)]
        fallbacks = (STATS.discoveries - before) / args.walks
        print(f"{name} next-question median: {statistics.median(timings):.3f} ms")
        print(f"{name} next-question p90: {p90(timings):.3f} ms")
        print(f"{name} screens per walk: {statistics.mean(screens):.1f} screens")
        print(f"{name} load: {statistics.median(loads):.1f} ms")
        print(f"{name} load cached: {statistics.median(cached):.3f} ms")
        print(f"{name} dynamic discoveries per walk: {fallbacks:.1f} errors")


if __name__ == "__main__":
    main()
