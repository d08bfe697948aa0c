"""Per-scenario PASS/FAIL for the docassemble corpus, with the first failure reason and totals.

    python -m tests.corpus.report          (from the repository root)
    python tests/corpus/report.py [-v] [--web]

-v: also print the trace of failures. --web: also run every scenario through the real wizard
in headless Chromium (`web_runner`: one `accord serve` per tier, seeded with that tier's
interviews, a fresh browser context per scenario) and show both runners side by side.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "live"))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import harness  # noqa: E402


@contextlib.contextmanager
def _web(tier: str) -> Iterator[tuple[object, object]]:
    import web_runner
    from browsing import new_context

    with tempfile.TemporaryDirectory(prefix="corpus-report-") as tmp, \
            web_runner.corpus_server(Path(tmp), tier) as server, web_runner.chromium() as browser:
        yield server, lambda: new_context(browser)


def _web_outcome(server: object, context_factory: object, scenario: harness.Scenario) -> harness.Outcome:
    import web_runner

    def run(sc: harness.Scenario) -> None:
        context = context_factory()  # type: ignore[operator]
        try:
            web_runner.run_scenario(sc, context, server.url)  # type: ignore[attr-defined]
        finally:
            context.close()

    return harness.outcome_of(scenario, run)


def _reason(out: harness.Outcome, verbose: bool) -> str:
    return out.reason if verbose else out.reason.split("\n  trace:")[0]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    verbose = "-v" in argv
    web = "--web" in argv
    totals = []
    for tier, feature in (("core", harness.CORE_FEATURE), ("harder", harness.HARDER_FEATURE)):
        scenarios = harness.parse_feature(feature)
        ids = harness.scenario_ids(scenarios)
        files = harness.corpus_files(tier)
        print(f"== {tier} ({feature.name}) ==")
        with _web(tier) if web else contextlib.nullcontext((None, None)) as (server, contexts):
            started = time.monotonic()
            passed = web_passed = 0
            for sid, sc in zip(ids, scenarios):
                out = harness.outcome(sc)
                passed += out.passed
                if server is None:
                    print(f"PASS  {sid}" if out.passed else f"FAIL  {sid}: {_reason(out, verbose)}")
                    continue
                web_out = _web_outcome(server, contexts, sc)
                web_passed += web_out.passed
                both = out.passed and web_out.passed
                print(f"{'PASS' if both else 'FAIL'}  {sid}")
                for label, o in (("engine", out), ("web", web_out)):
                    if not o.passed:
                        print(f"  {label} FAIL: {_reason(o, verbose)}")
            loading = 0
            for path in files:
                err = harness.load_error(path)
                if err is None:
                    loading += 1
                else:
                    print(f"LOAD-FAIL  {tier}/{path.name}: {err}")
            line = f"{tier}: scenarios passing {passed}/{len(scenarios)}, files loading {loading}/{len(files)}"
            if server is not None:
                import web_runner

                published = [p for p in files if web_runner.unpublished(server, p) is None]  # type: ignore[arg-type]
                line += (f"; in Chromium: scenarios passing {web_passed}/{len(scenarios)}, files published "
                         f"{len(published)}/{len(files)} ({time.monotonic() - started:.0f} s)")
            totals.append(line)
    print()
    for line in totals:
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
