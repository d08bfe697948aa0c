"""Agreement rendering speed: the shipped loan agreement (VN-HN, Vietnamese, with its repayment
schedule) rendered to PDF/A-2b with its signature fields.

Prints one `name: value unit` line per result:
- warm median: 10 renders in this process with the reused (cached) Typst compiler, each with a
  different applicant name so Typst cannot reuse a previous layout;
- cold median: 3 fresh `python -c` processes that each import, load the interview, assemble the
  agreement from saved answers and render it once (wall clock of the whole process);
- docx warm median: 10 renders of the sample Word template (interviews/templates/loan_agreement.docx)
  with docxtpl, same data;
- docx to pdf median: 3 LibreOffice conversions of that .docx, only when LibreOffice is installed
  (otherwise the line says it was skipped).

    python bench/assembly.py
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import engine  # noqa: E402
from accord.walk import agreement_session  # noqa: E402
from documents import docx_to_pdf, render_docx, render_pdf, template_path  # noqa: E402
from documents.docx import LIBREOFFICE_PROGRAMS  # noqa: E402
from documents.schedule import schedule_extra  # noqa: E402

LOAN = ROOT / "interviews" / "loan_application.yml"
DAY = dt.date(2026, 8, 1)
STAMP = dt.datetime(2026, 8, 1, tzinfo=dt.UTC)

COLD = """
import datetime as dt, json, sys
sys.path.insert(0, {root!r})
import engine
from documents.schedule import schedule_extra
from documents import render_pdf, template_path
iv = engine.load({loan!r})
state = engine.State.from_json({{"answers": json.load(open({answers!r}, encoding="utf-8")), "lang": "vi"}})
source = engine.assemble(iv, state, day=dt.date(2026, 8, 1))
render_pdf(source, template_path(iv.path, source.template), extra=schedule_extra(state.namespace, source),
           timestamp=dt.datetime(2026, 8, 1, tzinfo=dt.UTC))
"""


def finished_answers() -> dict[str, object]:
    """Answers of a generated session that makes a loan agreement, set to Hanoi and Vietnamese."""
    state = agreement_session(engine.load(LOAN), "vi")
    answers = dict(state.to_json()["answers"])
    answers.update({"applicant_region": "VN-HN", "language_of_agreement": "vi"})
    return answers


def main() -> None:
    answers = finished_answers()
    iv = engine.load(LOAN)
    template = template_path(LOAN, iv.accord.agreement.template if iv.accord.agreement else "")
    warm: list[float] = []
    for i in range(11):
        state = engine.State.from_json({"answers": {**answers, "applicant_name": f"Nguyễn Thị Hương {i}"},
                                        "lang": "vi"})
        source = engine.assemble(iv, state, day=DAY)
        extra = schedule_extra(state.namespace, source)
        t0 = time.perf_counter()
        render_pdf(source, template, extra=extra, timestamp=STAMP)
        if i:  # the first render compiles the template and loads the fonts
            warm.append(time.perf_counter() - t0)
    print(f"warm median: {statistics.median(warm) * 1000:.0f} ms")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "answers.json"
        path.write_text(json.dumps(answers, ensure_ascii=False, default=str), encoding="utf-8")
        code = COLD.format(root=str(ROOT), loan=str(LOAN), answers=str(path))
        cold: list[float] = []
        for _ in range(3):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            cold.append(time.perf_counter() - t0)
    print(f"cold median: {statistics.median(cold) * 1000:.0f} ms")

    docx_template = ROOT / "interviews" / "templates" / "loan_agreement.docx"
    timings: list[float] = []
    rendered = b""
    for i in range(11):
        state = engine.State.from_json({"answers": {**answers, "applicant_name": f"Nguyễn Thị Hương {i}"},
                                        "lang": "vi"})
        source = engine.assemble(iv, state, day=DAY)
        extra = schedule_extra(state.namespace, source)
        t0 = time.perf_counter()
        rendered = render_docx(source, docx_template, extra=extra)
        if i:  # the first render imports docxtpl
            timings.append(time.perf_counter() - t0)
    print(f"docx warm median: {statistics.median(timings) * 1000:.0f} ms")
    if not any(shutil.which(name) for name in LIBREOFFICE_PROGRAMS):
        print("docx to pdf: skipped (LibreOffice not installed)")
        return
    converted: list[float] = []
    for _ in range(3):
        t0 = time.perf_counter()
        docx_to_pdf(rendered)
        converted.append(time.perf_counter() - t0)
    print(f"docx to pdf median: {statistics.median(converted) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
