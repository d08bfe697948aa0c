"""Two sessions planned at once on two threads (a web server's thread pool) never see each
other's language, answers or budget."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import engine

INTERVIEW = """
mandatory: True
code: |
  name
  final
---
question: Name?
fields:
  - Name: name
---
event: final
question: ${ name } ${ currency(amount) } ${ format_date(today(), 'yyyy') }
---
code: |
  total = 0
  for n in range(2000):
    total = total + n
  amount = total
"""


def walk(lang: str, name: str) -> str:
    iv = engine.load_string(INTERVIEW)
    results = set()
    for _ in range(30):
        state = iv.start(lang)
        screen = engine.plan(iv, state)
        assert isinstance(screen, engine.Screen)
        engine.apply(iv, state, screen, {"name": name})
        end = engine.plan(iv, state)
        assert isinstance(end, engine.Screen)
        results.add(end.question)
    assert len(results) == 1
    return results.pop()


def test_parallel_sessions_do_not_mix() -> None:
    alone = {("en", "An"): walk("en", "An"), ("vi", "Bình"): walk("vi", "Bình")}
    with ThreadPoolExecutor(max_workers=4) as pool:
        jobs = [(key, pool.submit(walk, *key)) for key in list(alone) * 4]
        for key, job in jobs:
            assert job.result() == alone[key]
    assert alone[("en", "An")].startswith("An $1,999,000.00")
    assert alone[("vi", "Bình")].startswith("Bình 1.999.000,00")
