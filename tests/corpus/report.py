"""Per-scenario PASS/FAIL for the docassemble corpus, with the first failure reason and totals.

    python -m tests.corpus.report          (from the repository root)
    python tests/corpus/report.py [-v]     (-v: also print the screen trace of failures)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import harness  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    verbose = "-v" in argv
    totals = []
    for tier, feature in (("core", harness.CORE_FEATURE), ("harder", harness.HARDER_FEATURE)):
        scenarios = harness.parse_feature(feature)
        ids = harness.scenario_ids(scenarios)
        print(f"== {tier} ({feature.name}) ==")
        passed = 0
        for sid, sc in zip(ids, scenarios):
            out = harness.outcome(sc)
            passed += out.passed
            if out.passed:
                print(f"PASS  {sid}")
            else:
                reason = out.reason if verbose else out.reason.split("\n  trace:")[0]
                print(f"FAIL  {sid}: {reason}")
        files = harness.corpus_files(tier)
        loading = 0
        for path in files:
            err = harness.load_error(path)
            if err is None:
                loading += 1
            else:
                print(f"LOAD-FAIL  {tier}/{path.name}: {err}")
        totals.append(f"{tier}: scenarios passing {passed}/{len(scenarios)}, files loading {loading}/{len(files)}")
    print()
    for line in totals:
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
