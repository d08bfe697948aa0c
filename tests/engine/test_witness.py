"""A witness party is bound to one signer (`witness for: applicant`): checked at load with a clear
error, given the signer's routing order, and left out when its signer is."""

from __future__ import annotations

import pytest

import engine
from documents.render import template_data
from engine.assembly import AgreementSource, AssembledParty

BASE = """
question: Names
fields:
  - Name: applicant_name
  - E-mail: applicant_email
    datatype: email
  - Witness e-mail: witness_email
    datatype: email
---
mandatory: True
question: Thanks
---
"""


def parties(block: str) -> str:
    return BASE + "parties:\n" + block


SIGNER = "  - role: applicant\n    email: applicant_email\n    order: 1\n"
LENDER = "  - role: lender\n    email: applicant_email\n    order: 2\n"


def problems(text: str) -> list[str]:
    with pytest.raises(engine.LoadError) as info:
        engine.load_string(text, "w.yml")
    return [str(p) for p in info.value.problems]


def test_a_witness_takes_its_signers_order() -> None:
    iv = engine.load_string(parties(SIGNER + LENDER + "  - role: witness\n    email: witness_email\n"
                                    "    action: witness\n    witness for: applicant\n"), "w.yml")
    witness = iv.accord.parties[-1]
    assert (witness.action, witness.witness_for, witness.order) == ("witness", "applicant", 1)


@pytest.mark.parametrize(("block", "message"), [
    (SIGNER + "  - role: w\n    email: witness_email\n    action: witness\n",
     "party w: a witness needs `witness for:` (the role of the signer it witnesses)"),
    (SIGNER + "  - role: w\n    email: witness_email\n    action: witness\n    witness for: aplicant\n",
     "party w: `witness for: aplicant` names no party (parties: applicant)"),
    (SIGNER + "  - role: officer\n    email: witness_email\n    action: approve\n    order: 2\n"
     "  - role: w\n    email: witness_email\n    action: witness\n    witness for: officer\n",
     "party w: `witness for: officer` must name a party with `action: sign`"),
    (SIGNER + "  - role: w\n    email: witness_email\n    order: 1\n    witness for: applicant\n",
     "party w: only a party with `action: witness` may have `witness for:`"),
    (SIGNER + LENDER + "  - role: w\n    email: witness_email\n    action: witness\n    order: 2\n"
     "    witness for: applicant\n", "party w: a witness takes the order of the signer it witnesses (1)"),
    (SIGNER + "  - role: w\n    email: witness_email\n    action: witness\n    witness for: [applicant]\n",
     "party w: `witness for:` must name a signer's role"),
])
def test_bad_witness_references_are_load_errors(block: str, message: str) -> None:
    found = problems(parties(block))
    assert any(message in p for p in found), found
    assert all(p.startswith("w.yml:") for p in found)


def test_the_witness_field_sits_next_to_its_signers() -> None:
    people = (AssembledParty("applicant", "sign", 1, "An", "an@x.vn", None, None, ()),
              AssembledParty("lender", "sign", 2, "Acme", "l@x.vn", None, None, ()),
              AssembledParty("witness", "witness", 1, "Chi", "c@x.vn", None, None, (), "applicant"))
    import datetime as dt

    source = AgreementSource(title="t", template="t.typ", region="VN", date=dt.date(2026, 1, 1), language="en",
                             clauses=(), parties=people)
    signers = template_data(source)["signers"]
    assert [s["role"] for s in signers] == ["applicant", "witness", "lender"]
    assert signers[1]["witness_for"] == "applicant"



def test_the_loan_template_renders_the_witness_field_next_to_the_signer() -> None:
    """The shipped Typst template compiles with a witness, names whom it witnesses, and reserves its
    field right under the signer's."""
    import datetime as dt
    import subprocess
    import tempfile
    from pathlib import Path

    from documents.render import render_pdf, template_path

    loan = Path(__file__).resolve().parents[2] / "interviews" / "loan_application.yml"
    people = (AssembledParty("applicant", "sign", 1, "Nguyễn Văn An", "an@x.vn", None, None, ()),
              AssembledParty("lender", "sign", 2, "Acme", "l@x.vn", None, None, ()),
              AssembledParty("witness", "witness", 1, "Trần Chí", "c@x.vn", None, None, (), "applicant"))
    source = AgreementSource(title="Deed", template="templates/loan_agreement.typ", region="VN-HN",
                             date=dt.date(2026, 1, 1), language="en", clauses=(), parties=people)
    doc = render_pdf(source, template_path(loan, source.template), extra={"schedule": None},
                     timestamp=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "deed.pdf"
        path.write_bytes(doc.pdf)
        text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True).stdout
    assert "(witnesses: Applicant)" in text or "(witnesses: applicant)" in text, text[-800:]
    assert text.index("sig_applicant") < text.index("sig_witness") < text.index("sig_lender")
