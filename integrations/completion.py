"""The interview's `on completion` actions, run by the worker when an envelope completes.

Each action is one delivery (`kind = action`, `action_index` = its place in the block), so its
outcome is logged on its own and a failure is retried with backoff without redoing the others:

- `update record:` evaluates `record:` and every `set:` expression over the session's answers,
  the fields the signers typed (`fields:` of a party) and `agreement_id`, then `update`s the record
  through the named connector;
- `webhook: NAME` calls the firm's hook NAME: a signed POST (same scheme as webhooks, the secret
  from `secret_env`) or a connector action (`connector:` + `action:`), e.g. provisioning an account.

An action whose connector or hook is not in the integrations file is recorded once with the
status `unconfigured` (one attempt saying which name is missing), not retried for days and not
logged as an error: retrying cannot help until someone configures it, and then "retry now" in
the console (or `accord completion retry`) delivers it, the file being re-read when it changes.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session as DB
from sqlmodel import col, select

import engine
from integrations import http, signature
from integrations.connectors import ConnectorError, Registry, env_value
from jobs.worker import Outcome
from store.models import AuditEvent, Delivery, DeliveryAttempt, Envelope, Firm, InterviewVersion, OutboxEvent
from store.models import Session as SessionRow
from store.outbox import ENVELOPE_COMPLETED
from store.sessions import compile_version, load_state

UNCONFIGURED = "unconfigured"  # the delivery status of an action whose connector or hook is missing


def not_configured(what: str, name: str, error: str) -> Outcome:
    """The outcome of an action naming a connector or hook the firm's file lacks: failed now,
    marked (`request.not_configured`) so that `recorded` gives the delivery its own status."""
    return Outcome(ok=False, request={"not_configured": what, "name": name}, error=error, retry=False)


def signer_fields(db: DB, envelope_id: str) -> dict[str, Any]:
    """Every value a participant typed while signing (kept in the audit trail with the signature)."""
    values: dict[str, Any] = {}
    rows = db.exec(select(AuditEvent).where(AuditEvent.envelope_id == envelope_id).order_by(col(AuditEvent.seq)))
    for event in rows.all():
        if event.action in ("signed", "approved", "witnessed") and isinstance(event.detail.get("fields"), dict):
            values.update(event.detail["fields"])
    return values


def jsonable(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return str(value)


class CompletionConsumer:
    """`jobs.worker.Consumer` for `on completion` actions."""

    kind = "action"

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def _context(self, db: DB, event: OutboxEvent) -> tuple[Envelope, Any, Any, dict[str, Any]] | None:
        envelope = db.get(Envelope, event.data.get("envelope_id"))
        if envelope is None or envelope.session_id is None:
            return None
        session, state = load_state(db, envelope.session_id)
        version = db.get(InterviewVersion, session.interview_version_id)
        if version is None:
            return None
        extra = {**signer_fields(db, envelope.id), "agreement_id": event.agreement_id}
        return envelope, compile_version(version), state, extra

    def targets(self, db: DB, event: OutboxEvent) -> list[tuple[int | None, int | None]]:
        if event.type != ENVELOPE_COMPLETED:
            return []
        found = self._context(db, event)
        if found is None:
            return []
        return [(None, i) for i in range(len(found[1].accord.on_completion))]

    def blocked(self, db: DB) -> set[int]:
        return set()

    def recorded(self, db: DB, delivery: Delivery, outcome: Outcome, now: dt.datetime) -> None:
        if not outcome.ok and outcome.request.get("not_configured"):
            delivery.status = UNCONFIGURED
            db.add(delivery)

    def deliver(self, db: DB, delivery: Delivery, event: OutboxEvent, now: dt.datetime) -> Outcome:
        found = self._context(db, event)
        if found is None:
            return Outcome(ok=False, error="the agreement's session is gone", retry=False)
        envelope, iv, state, extra = found
        firm = db.get(Firm, envelope.firm_id)
        integrations = self.registry.for_firm(firm.slug if firm else "")
        action = iv.accord.on_completion[delivery.action_index or 0]
        try:
            if action.kind == "update record":
                connector = integrations.connectors.get(action.target)
                if connector is None:
                    return not_configured("connector", action.target,
                                          f"no connector {action.target!r} is configured for this firm")
                record = jsonable(engine.evaluate(iv, state, action.record, extra)) if action.record else None
                if record in (None, ""):
                    return Outcome(ok=False, error="update record: the record id is empty", retry=False)
                fields = {k: jsonable(engine.evaluate(iv, state, e, extra)) for k, e in action.set.items()}
                request = {"connector": action.target, "update": str(record), "fields": fields}
                connector.update(str(record), fields)
                return Outcome(ok=True, request=request, body="updated")
            return self._hook(db, integrations.hooks.get(action.target), action.target, event, extra, state, now,
                              integrations)
        except ConnectorError as exc:
            return Outcome(ok=False, request={"action": action.kind, "target": action.target}, error=str(exc))
        except NameError as exc:  # an answer the mapping reads was never given
            return Outcome(ok=False, error=f"{action.kind}: {exc}", retry=False)

    def _hook(self, db: DB, hook: dict[str, Any] | None, name: str, event: OutboxEvent, extra: dict[str, Any],
              state: Any, now: dt.datetime, integrations: Any) -> Outcome:
        if hook is None:
            return not_configured("hook", name, f"no hook {name!r} is configured for this firm")
        body_data = {"id": event.event_id, "type": "agreement.completed", "hook": name,
                     "agreement_id": event.agreement_id, "envelope_id": event.data.get("envelope_id"),
                     "record": state.url_args.get("record"), "fields": jsonable(extra)}
        if "connector" in hook:
            connector = integrations.connectors.get(str(hook["connector"]))
            if connector is None:
                return not_configured("connector", str(hook["connector"]),
                                      f"hook {name}: no connector {hook['connector']!r} is configured")
            result = connector.action(str(hook.get("action", "")), body_data)
            return Outcome(ok=True, request={"hook": name, "action": hook.get("action"), "body": body_data},
                           body=json.dumps(result)[:4000])
        url = str(hook.get("url", ""))
        body = json.dumps(body_data, separators=(",", ":"), sort_keys=True).encode()
        stamp = int(now.timestamp())
        headers = {"Content-Type": "application/json", "Accord-Event-Id": event.event_id,
                   signature.HEADER: signature.header([env_value(hook, "secret_env")], stamp, body)}
        result = http.call("POST", url, allow_private=bool(hook.get("allow_private", False)), headers=headers,
                           content=body)
        return Outcome(ok=result.ok, request={"hook": name, "url": url, "body": body.decode()}, status=result.status,
                       body=result.body or None, error=result.error, duration_ms=result.duration_ms)


def outcomes(db: DB, firm_id: int, agreement_id: str) -> list[tuple[Delivery, list[DeliveryAttempt]]]:
    """The `on completion` actions of an agreement with every attempt (what the console shows; a
    failed one is sent again with `integrations.webhooks.resend`)."""
    rows = db.exec(select(Delivery).where(Delivery.firm_id == firm_id, Delivery.agreement_id == agreement_id,
                                          Delivery.kind.in_(("action", "autosend")))  # type: ignore[attr-defined]
                   .order_by(col(Delivery.id))).all()
    return [(d, list(db.exec(select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == d.id)
                             .order_by(col(DeliveryAttempt.id))).all())) for d in rows]


@dataclass(frozen=True)
class ActionState:
    """One `on completion` action of an agreement as the console shows it."""

    delivery: Delivery
    attempts: list[DeliveryAttempt]
    kind: str  # update record | webhook | autosend
    target: str  # the connector or hook it names ("" for autosend)
    state: str  # pending | retrying | done | failed | unconfigured
    missing: str | None  # the connector or hook name the integrations file lacks (unconfigured)

    @property
    def can_retry(self) -> bool:
        return self.state in ("retrying", "failed", UNCONFIGURED)


def _state(d: Delivery) -> str:
    if d.status == "delivered":
        return "done"
    if d.status == "pending":
        return "retrying" if d.attempts else "pending"
    return d.status  # failed | unconfigured


def action_states(db: DB, firm_id: int, agreement_id: str) -> list[ActionState]:
    """`outcomes` with what each action is (from the interview's `on completion` block) and a
    state a person reads: pending, retrying (with its next attempt), done, failed, unconfigured."""
    found = outcomes(db, firm_id, agreement_id)
    if not found:
        return []
    actions: list[Any] = []
    session = db.get(SessionRow, agreement_id)
    if session is not None and session.firm_id == firm_id:
        version = db.get(InterviewVersion, session.interview_version_id)
        if version is not None:
            actions = list(compile_version(version).accord.on_completion)
    out = []
    for d, attempts in found:
        kind, target = "autosend", ""
        if d.kind == "action" and d.action_index is not None and d.action_index < len(actions):
            kind, target = actions[d.action_index].kind, actions[d.action_index].target
        missing = None
        if d.status == UNCONFIGURED and attempts:
            missing = str(attempts[-1].request.get("name") or target)
        out.append(ActionState(d, attempts, kind, target, _state(d), missing))
    return out
