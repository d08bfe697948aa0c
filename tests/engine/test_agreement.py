"""Accord's own blocks are validated at load and exposed as data."""

from __future__ import annotations

import pytest

import engine

BASE = """
question: Name and e-mail
fields:
  - Name: applicant_name
  - E-mail: applicant_email
    datatype: email
  - Amount: loan_amount
    datatype: currency
---
code: |
  region = "VN-HN"
---
mandatory: True
question: Thanks ${ applicant_name }
"""

GOOD = BASE + """
---
agreement:
  template: templates/loan_agreement.typ
  clauses: clauses/loan
  region: region
  date: today()
  title: "Loan for ${ applicant_name }"
---
parties:
  - role: applicant
    name: applicant_name
    email: applicant_email
    action: sign
    order: 1
    identity: [email_code]
  - role: officer
    staff: loan_officers
    action: approve
    order: 2
  - role: records
    email: "'records@example.com'"
    action: cc
---
payment:
  amount: loan_amount / 100
  currency: VND
  description: Application fee
  payer: applicant
  when: before signing
---
prefill:
  from: crm
  record: url_args['record']
  answers:
    applicant_name: Name
---
on completion:
  - update record:
      in: crm
      record: url_args['record']
      set:
        Amount__c: loan_amount
  - webhook: provisioning
"""


def problems(text: str) -> list[str]:
    with pytest.raises(engine.LoadError) as info:
        engine.load_string(text, "a.yml")
    return [str(p) for p in info.value.problems]


def test_valid_blocks_are_exposed() -> None:
    iv = engine.load_string(GOOD, "a.yml")
    ab = iv.accord
    assert ab.agreement is not None and ab.agreement.template == "templates/loan_agreement.typ"
    assert [p.role for p in ab.parties] == ["applicant", "officer", "records"]
    assert ab.parties[0].identity == ["email_code"] and ab.parties[1].staff == "loan_officers"
    assert ab.payment is not None and ab.payment.currency == "VND" and ab.payment.when == "before signing"
    assert ab.prefill is not None and ab.prefill.answers == {"applicant_name": "Name"}
    assert [a.kind for a in ab.on_completion] == ["update record", "webhook"]


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("parties:\n  - role: a\n    email: applicant_email\n    action: dance\n    order: 1\n",
         "party a: action must be one of sign, approve, review, cc, witness"),
        ("parties:\n  - role: a\n    email: applicant_email\n    order: 1\n    identity: [retina]\n",
         "party a: unknown identity method 'retina'"),
        ("parties:\n  - role: a\n    email: applicant_email\n    order: 1\n  - role: b\n    email: applicant_email\n"
         "    order: 3\n", "party orders must run 1, 2, 3... without gaps (found [1, 3])"),
        ("parties:\n  - role: a\n    email: nobody_email\n    order: 1\n",
         "party a email reads 'nobody_email', but no block defines it"),
        ("parties:\n  - role: a\n    order: 1\n", "party a: needs `email:` (an expression) or `staff:`"),
        ("payment:\n  amount: loan_amount\n  currency: dong\n", "payment currency must be an ISO 4217 code"),
        ("payment:\n  amount: loan_amount\n  currency: VND\n  when: someday\n", "payment when must be one of"),
        ("payment:\n  amount: loan_amount +\n  currency: VND\n", "payment amount: expression syntax error"),
        ("agreement:\n  template: t.typ\n  region: missing_region\n",
         "agreement region reads 'missing_region', but no block defines it"),
        ("agreement:\n  region: region\n", "agreement needs `template:`"),
        ("on completion:\n  - launch rockets: now\n", "unknown completion action 'launch rockets'"),
        ("payment:\n  amount: loan_amount\n  currency: VND\n  payer: ghost\n",
         "payment payer 'ghost' is not a party role"),
        ("payment:\n  amount: loan_amount\n  currency: VND\n  description: Fee for ${ nobody }\n",
         "payment description reads 'nobody', but no block defines it"),
    ],
)
def test_bad_blocks_name_the_problem(block: str, message: str) -> None:
    found = problems(BASE + "---\n" + block)
    assert any(message in p for p in found), found
    assert all(p.startswith("a.yml:") for p in found)


def test_second_block_of_a_kind_is_refused() -> None:
    text = GOOD + "---\npayment:\n  amount: 1\n  currency: USD\n"
    assert any("a second 'payment' block" in p for p in problems(text))


def test_planner_asks_what_the_parties_need_before_the_end() -> None:
    iv = engine.load_string(
        """
mandatory: True
code: |
  applicant_email
  has_co
  final
---
question: E-mail
fields:
  - E-mail: applicant_email
    datatype: email
---
question: Co-applicant?
yesno: has_co
---
question: Co-applicant e-mail
fields:
  - E-mail: co_email
    datatype: email
---
event: final
question: All done
---
parties:
  - role: applicant
    email: applicant_email
    order: 1
  - role: co_applicant
    if: has_co
    email: co_email
    order: 1
"""
    )
    for button, expected in ((0, "Co-applicant e-mail"), (1, "All done")):
        st = iv.start()
        screen = engine.plan(iv, st)
        assert not isinstance(screen, engine.Done)
        engine.apply(iv, st, screen, {"applicant_email": "a@example.com"})
        screen = engine.plan(iv, st)
        assert not isinstance(screen, engine.Done) and screen.question == "Co-applicant?"
        engine.apply(iv, st, screen, {}, button)
        screen = engine.plan(iv, st)
        assert not isinstance(screen, engine.Done) and screen.question == expected


def test_party_fields_are_compiled_and_may_feed_completion() -> None:
    text = BASE + """
---
parties:
  - role: lender
    staff: signatories
    order: 1
    fields:
      - Purchase order number: po_number
        maxlength: 20
---
on completion:
  - update record:
      in: crm
      record: url_args['record']
      set:
        PO__c: po_number
"""
    iv = engine.load_string(text, "a.yml")
    spec = iv.accord.parties[0].field_specs[0]
    assert spec.var == "po_number" and spec.maxlength == 20
    assert iv.accord_needs()["on completion 1 (update record)"] == ["po_number"]


def test_bad_party_field_and_unknown_prefill_variable() -> None:
    text = BASE + """
---
parties:
  - role: lender
    staff: signatories
    order: 1
    fields:
      - Amount: approved
        datatype: nonsense
---
prefill:
  from: crm
  answers:
    not_asked_anywhere: Name
"""
    found = problems(text)
    assert any("unknown datatype 'nonsense'" in p for p in found)
    assert any("prefill sets 'not_asked_anywhere', but no block defines it" in p for p in found)
