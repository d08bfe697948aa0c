"""`accord selftest`: the whole pipeline offline, with a report an operator can read."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from accord.cli import main


def test_selftest_passes_and_writes_the_sealed_pdf_and_report(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["selftest", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["ok"] is True
    names = [s["stage"] for s in report["stages"]]
    assert names[0].startswith("database") and names[-1].startswith("verify")
    assert sum(name.startswith("sign: ") for name in names) == 4  # applicant, co-applicant, officer, lender
    assert all(s["ok"] and s["ms"] >= 0 for s in report["stages"])
    assert [s["field"] for s in report["result"]["signatures"]][:5] == [
        "sig_applicant", "sig_co_applicant", "sig_loan_officer", "sig_lender", "platform_seal"]
    qpdf = subprocess.run(["qpdf", "--check", str(tmp_path / "sealed.pdf")], capture_output=True, text=True)
    assert qpdf.returncode == 0, qpdf.stdout
    assert "selftest passed" in capsys.readouterr().out
