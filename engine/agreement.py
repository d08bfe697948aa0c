"""Accord's own blocks: agreement, parties, payment, prefill, on completion.

The engine only validates them and exposes them as data; the signing, payment and
integration rooms act on them. Every expression is compiled by the sandbox now, so a typo
is a load error with its line, and every name it reads must be defined by some block.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from engine import sandbox
from engine.errors import Problem
from engine.sandbox import Compiled, SandboxError
from engine.templates import TemplateError, Text, compile_text

ACTIONS = ("sign", "approve", "review", "cc", "witness")
IDENTITY_METHODS = ("email_code", "sms_code", "id_document", "video_call", "passkey")
PAYMENT_WHEN = ("before signing", "after signing", "on completion")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_ROLE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass
class Agreement:
    template: str
    clauses: str | None
    region: Compiled
    date: Compiled | None
    title: Text | None
    language: Compiled | None
    line: int
    condition: Compiled | None = None  # `if:`: no agreement (so no parties, no payment) when false


@dataclass
class Party:
    role: str
    action: str
    order: int | None
    name: Compiled | None = None
    email: Compiled | None = None
    phone: Compiled | None = None
    staff: str | None = None
    identity: list[str] = field(default_factory=list)
    condition: Compiled | None = None
    fields: list[dict[str, Any]] = field(default_factory=list)
    line: int = 0
    witness_for: str | None = None  # `witness for: applicant`: the signer this witness is bound to
    field_specs: list[Any] = field(default_factory=list)  # compiled like question fields (FieldSpec)


@dataclass
class Payment:
    amount: Compiled
    currency: str
    description: Text | None
    payer: str | None
    when: str
    condition: Compiled | None
    line: int


@dataclass
class Prefill:
    source: str
    record: Compiled | None
    answers: dict[str, str]
    line: int


@dataclass
class CompletionAction:
    kind: str  # update record | webhook
    target: str
    record: Compiled | None = None
    set: dict[str, Compiled] = field(default_factory=dict)
    line: int = 0


@dataclass
class AccordBlocks:
    agreement: Agreement | None = None
    parties: list[Party] = field(default_factory=list)
    payment: Payment | None = None
    prefill: Prefill | None = None
    on_completion: list[CompletionAction] = field(default_factory=list)
    lines: dict[str, tuple[str, int]] = field(default_factory=dict)


class _Reader:
    def __init__(self, file: str, problems: list[Problem]) -> None:
        self.file = file
        self.problems = problems

    def bad(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.file, line, message))

    def expr(self, source: Any, line: int, what: str) -> Compiled | None:
        if source is None or (isinstance(source, str) and not source.strip()):
            self.bad(line, f"{what} is empty")
            return None
        try:
            return sandbox.compile_expr(str(source), self.file, line)
        except SyntaxError as exc:
            self.bad(line, f"{what}: expression syntax error: {exc.msg}")
        except SandboxError as exc:
            self.bad(line, f"{what}: {exc}")
        return None

    def text(self, source: Any, line: int) -> Text | None:
        try:
            return compile_text(source)
        except TemplateError as exc:
            self.bad(line, str(exc))
            return None

    def keys(self, d: dict[str, Any], allowed: set[str], line: int, where: str) -> None:
        for key in d:
            if key not in allowed:
                self.bad(getattr(d, "line_of", lambda k: line)(key), f"unknown key {key!r} in {where}")


def _line(d: Any, key: str, default: int) -> int:
    return d.line_of(key) if hasattr(d, "line_of") else default


def parse_block(key: str, d: Any, file: str, out: AccordBlocks, problems: list[Problem]) -> None:
    r = _Reader(file, problems)
    line = d.line_of(key)
    if key in out.lines:
        r.bad(line, f"a second {key!r} block (the first is at line {out.lines[key][1]})")
        return
    out.lines[key] = (file, line)
    extra = [k for k in d if k not in (key, "comment")]
    if extra:
        r.bad(line, f"the {key!r} block takes no other keys (found {', '.join(extra)})")
    body = d[key]
    if key == "agreement":
        if not isinstance(body, dict):
            r.bad(line, "agreement must be a mapping")
            return
        r.keys(body, {"template", "clauses", "region", "date", "title", "language", "if"}, line, "agreement")
        if not isinstance(body.get("template"), str):
            r.bad(line, "agreement needs `template:` (a file name)")
            return
        region = r.expr(body.get("region"), _line(body, "region", line), "agreement region")
        if region is None:
            return
        out.agreement = Agreement(
            template=body["template"], clauses=body.get("clauses"), region=region,
            date=r.expr(body["date"], _line(body, "date", line), "agreement date") if "date" in body else None,
            title=r.text(body["title"], _line(body, "title", line)) if "title" in body else None,
            language=r.expr(body["language"], _line(body, "language", line), "agreement language")
            if "language" in body else None,
            line=line,
            condition=r.expr(body["if"], _line(body, "if", line), "agreement if") if "if" in body else None,
        )
    elif key == "parties":
        if not isinstance(body, list) or not body:
            r.bad(line, "parties must be a non-empty list")
            return
        lines = getattr(body, "item_lines", [line] * len(body))
        for item, item_line in zip(body, lines):
            party = _party(r, item, item_line)
            if party:
                out.parties.append(party)
        _check_parties(r, out.parties, line)
    elif key == "payment":
        if not isinstance(body, dict):
            r.bad(line, "payment must be a mapping")
            return
        r.keys(body, {"amount", "currency", "description", "payer", "when", "if"}, line, "payment")
        amount = r.expr(body.get("amount"), _line(body, "amount", line), "payment amount")
        currency = str(body.get("currency", ""))
        if not _CURRENCY.match(currency):
            r.bad(_line(body, "currency", line), f"payment currency must be an ISO 4217 code such as VND or USD, "
                  f"not {currency!r}")
        when = str(body.get("when", "before signing"))
        if when not in PAYMENT_WHEN:
            r.bad(_line(body, "when", line), f"payment when must be one of: {', '.join(PAYMENT_WHEN)}")
        if amount is None:
            return
        out.payment = Payment(
            amount=amount, currency=currency,
            description=r.text(body.get("description", ""), _line(body, "description", line)),
            payer=str(body["payer"]) if "payer" in body else None, when=when,
            condition=r.expr(body["if"], _line(body, "if", line), "payment if") if "if" in body else None,
            line=line,
        )
    elif key == "prefill":
        if not isinstance(body, dict):
            r.bad(line, "prefill must be a mapping")
            return
        r.keys(body, {"from", "record", "answers"}, line, "prefill")
        answers = body.get("answers", {})
        if not isinstance(answers, dict):
            r.bad(_line(body, "answers", line), "prefill answers must map variables to source fields")
            answers = {}
        if not isinstance(body.get("from"), str):
            r.bad(line, "prefill needs `from:` (a connector name)")
        out.prefill = Prefill(
            source=str(body.get("from", "")),
            record=r.expr(body["record"], _line(body, "record", line), "prefill record") if "record" in body else None,
            answers={str(k): str(v) for k, v in answers.items()}, line=line,
        )
    elif key == "on completion":
        if not isinstance(body, list):
            r.bad(line, "on completion must be a list of actions")
            return
        lines = getattr(body, "item_lines", [line] * len(body))
        for item, item_line in zip(body, lines):
            action = _completion(r, item, item_line)
            if action:
                out.on_completion.append(action)


def _party(r: _Reader, item: Any, line: int) -> Party | None:
    if not isinstance(item, dict):
        r.bad(line, "each party must be a mapping with a role")
        return None
    r.keys(item, {"role", "name", "email", "phone", "staff", "action", "order", "identity", "if", "fields",
                  "witness for"}, line, "a party")
    role = str(item.get("role", ""))
    if not _ROLE.match(role):
        r.bad(line, f"party role {role!r} must be a lower-case identifier such as applicant")
        return None
    action = str(item.get("action", "sign"))
    if action not in ACTIONS:
        r.bad(_line(item, "action", line), f"party {role}: action must be one of {', '.join(ACTIONS)}")
    order = item.get("order")
    if order is not None and (not isinstance(order, int) or isinstance(order, bool) or order < 1):
        r.bad(_line(item, "order", line), f"party {role}: order must be a whole number from 1")
        order = None
    witness_for = item.get("witness for")
    if witness_for is not None and not (isinstance(witness_for, str) and _ROLE.match(witness_for)):
        r.bad(_line(item, "witness for", line), f"party {role}: `witness for:` must name a signer's role")
        witness_for = None
    if action == "witness" and "witness for" not in item:
        r.bad(line, f"party {role}: a witness needs `witness for:` (the role of the signer it witnesses)")
    if witness_for is not None and action != "witness":
        r.bad(_line(item, "witness for", line), f"party {role}: only a party with `action: witness` may have "
                                                "`witness for:`")
    if order is None and action not in ("cc", "witness"):
        r.bad(line, f"party {role}: needs an order (only cc parties may leave it out)")
    identity = item.get("identity", [])
    if isinstance(identity, str):
        identity = [identity]
    for method in identity:
        if method not in IDENTITY_METHODS:
            r.bad(_line(item, "identity", line),
                  f"party {role}: unknown identity method {method!r} (known: {', '.join(IDENTITY_METHODS)})")
    if "staff" not in item and "email" not in item:
        r.bad(line, f"party {role}: needs `email:` (an expression) or `staff:` (a staff group)")
    party = Party(role=role, action=action, order=order, identity=list(identity), line=line,
                  staff=str(item["staff"]) if "staff" in item else None,
                  witness_for=str(witness_for) if witness_for else None)
    for key in ("name", "email", "phone"):
        if key in item:
            setattr(party, key, r.expr(item[key], _line(item, key, line), f"party {role} {key}"))
    if "if" in item:
        party.condition = r.expr(item["if"], _line(item, "if", line), f"party {role} if")
    if "fields" in item:
        if not isinstance(item["fields"], list):
            r.bad(_line(item, "fields", line), f"party {role}: fields must be a list")
        else:
            party.fields = [dict(f) for f in item["fields"] if isinstance(f, dict)]
    return party


def _check_parties(r: _Reader, parties: list[Party], line: int) -> None:
    roles = [p.role for p in parties]
    for role in set(roles):
        if roles.count(role) > 1:
            r.bad(line, f"party role {role!r} is used twice")
    # A witness is routed right after the signer it is bound to: it takes the signer's order (and waits,
    # within that order, for the signer's signature; `signing.routing`).
    by_role = {p.role: p for p in parties}
    for p in parties:
        if p.witness_for is None:
            continue
        signer = by_role.get(p.witness_for)
        if signer is None:
            r.bad(p.line, f"party {p.role}: `witness for: {p.witness_for}` names no party (parties: "
                          f"{', '.join(x.role for x in parties if x.action == 'sign') or 'none that sign'})")
        elif signer.action != "sign" or signer is p:
            r.bad(p.line, f"party {p.role}: `witness for: {p.witness_for}` must name a party with `action: sign`")
        elif p.order is not None and p.order != signer.order:
            r.bad(p.line, f"party {p.role}: a witness takes the order of the signer it witnesses "
                          f"({signer.order}); leave `order:` out")
        else:
            p.order = signer.order
    orders = sorted({p.order for p in parties if p.order is not None})
    if orders and orders != list(range(1, len(orders) + 1)):
        r.bad(line, f"party orders must run 1, 2, 3... without gaps (found {orders})")


def _completion(r: _Reader, item: Any, line: int) -> CompletionAction | None:
    if not isinstance(item, dict) or len(item) != 1:
        r.bad(line, "each completion action is one of `update record:` or `webhook:`")
        return None
    kind, body = next(iter(item.items()))
    if kind == "webhook":
        return CompletionAction(kind="webhook", target=str(body), line=line)
    if kind == "update record":
        if not isinstance(body, dict):
            r.bad(line, "update record needs `in:`, `record:` and `set:`")
            return None
        r.keys(body, {"in", "record", "set"}, line, "update record")
        sets = body.get("set", {})
        if not isinstance(sets, dict):
            r.bad(line, "update record `set:` must map fields to expressions")
            sets = {}
        action = CompletionAction(kind="update record", target=str(body.get("in", "")), line=line)
        if "record" in body:
            action.record = r.expr(body["record"], line, "update record record")
        for k, v in sets.items():
            e = r.expr(v, line, f"update record field {k}")
            if e:
                action.set[str(k)] = e
        return action
    r.bad(line, f"unknown completion action {kind!r} (use `update record` or `webhook`)")
    return None


def needs(blocks: AccordBlocks) -> dict[str, list[str]]:
    """Names each block reads, for `accord check --needs` and for people reviewing a YAML."""
    out: dict[str, set[str]] = {}

    def add(key: str, *exprs: Compiled | Text | None) -> None:
        for e in exprs:
            if e is not None:
                out.setdefault(key, set()).update(e.names)

    if blocks.agreement:
        ag = blocks.agreement
        add("agreement", ag.region, ag.date, ag.language, ag.title, ag.condition)
    for p in blocks.parties:
        add(f"party {p.role}", p.name, p.email, p.phone, p.condition)
    if blocks.payment:
        add("payment", blocks.payment.amount, blocks.payment.condition)
    if blocks.prefill:
        add("prefill", blocks.prefill.record)
    for n, action in enumerate(blocks.on_completion, 1):
        add(f"on completion {n} ({action.kind})", action.record, *action.set.values())
    return {k: sorted(v - {"url_args"}) for k, v in out.items()}


def check(blocks: AccordBlocks, known: set[str], problems: list[Problem], answerable: set[str] | None = None) -> None:
    """Cross-checks that need the whole interview: names defined, payer is a party, prefilled
    variables exist."""

    def names_ok(expr: Compiled | Text | None, what: str, where: tuple[str, int]) -> None:
        if expr is None:
            return
        for name in sorted(expr.names - known):
            problems.append(Problem(where[0], where[1], f"{what} reads {name!r}, but no block defines it"))

    ag = blocks.agreement
    if ag:
        where = blocks.lines["agreement"]
        names_ok(ag.region, "agreement region", where)
        names_ok(ag.date, "agreement date", where)
        names_ok(ag.language, "agreement language", where)
        names_ok(ag.condition, "agreement if", where)
        if ag.title:
            for name in sorted(ag.title.names - known):
                problems.append(Problem(where[0], where[1], f"agreement title reads {name!r}, but no block defines it"))
    for p in blocks.parties:
        where = (blocks.lines["parties"][0], p.line)
        for key in ("name", "email", "phone", "condition"):
            names_ok(getattr(p, key), f"party {p.role} {key}", where)
    if blocks.payment:
        where = blocks.lines["payment"]
        names_ok(blocks.payment.amount, "payment amount", where)
        names_ok(blocks.payment.description, "payment description", where)
        names_ok(blocks.payment.condition, "payment if", where)
        roles = {p.role for p in blocks.parties}
        if blocks.payment.payer and blocks.payment.payer not in roles:
            problems.append(Problem(where[0], where[1], f"payment payer {blocks.payment.payer!r} is not a party role"))
    if blocks.prefill:
        where = blocks.lines["prefill"]
        names_ok(blocks.prefill.record, "prefill record", where)
        for var in blocks.prefill.answers:
            if answerable is not None and var not in answerable:
                problems.append(Problem(where[0], where[1], f"prefill sets {var!r}, but no block defines it"))
    for action in blocks.on_completion:
        where = (blocks.lines["on completion"][0], action.line)
        names_ok(action.record, "update record", where)
        for k, e in action.set.items():
            names_ok(e, f"update record field {k}", where)
