"""The quiet demo: an `on completion` action whose connector or hook is not in the integrations
file is recorded once as "unconfigured" (one attempt naming what is missing), is not retried for
days and logs no error; once the file names it, "retry now" (`webhooks.resend`) delivers it
through the same running worker, which re-reads the file. Also: the shipped example file names
exactly what the loan interview's `on completion` block uses."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from crm_service import CRM
from po_case import completed_po_order
from sqlalchemy import Engine
from sqlmodel import Session as DB
from sqlmodel import select

from accord.settings import DEFAULT_INTERVIEWS
from integrations import webhooks
from integrations.completion import CompletionConsumer, action_states
from integrations.connectors import FileRegistry, FirmIntegrations, Registry, load
from integrations.salesforce import SalesforceConnector
from jobs.clock import ManualClock
from jobs.worker import Worker
from store.models import Delivery, DeliveryAttempt
from store.sessions import compile_version, ensure_firm, publish_interview

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "integrations.example.yml"


@pytest.fixture
def crm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CRM]:
    monkeypatch.setenv("ACCORD_TEST_CRM_ID", "client-1")
    monkeypatch.setenv("ACCORD_TEST_CRM_SECRET", "secret-1")
    service = CRM(tmp_path, "client-1", "secret-1").start()
    service.put("Opportunity", "42", {"Name": "Nguyễn Văn An", "Email": "an@example.com", "Company__c": "Acme"})
    yield service
    service.stop()


def _crm_config(crm: CRM) -> dict[str, object]:
    return {"type": "salesforce", "base_url": crm.url, "object": "Opportunity", "allow_private": True,
            "auth": {"oauth2": {"client_id_env": "ACCORD_TEST_CRM_ID", "client_secret_env": "ACCORD_TEST_CRM_SECRET"}},
            "actions": {"create_account": {"method": "POST", "path": "/services/apexrest/provision"}}}


def _completed_envelope(db_engine: Engine, crm: CRM) -> str:
    """A po_order session started from CRM record 42 whose envelope has just completed."""
    prefill = Registry({"acme": FirmIntegrations({"crm": SalesforceConnector(_crm_config(crm))})})
    return completed_po_order(db_engine, prefill, "PO-9")


def test_unconfigured_actions_are_recorded_once_then_delivered_after_configuring(
        db_engine: Engine, crm: CRM, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "integrations.yml"  # not there yet: the demo's situation
    clock = ManualClock(dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC))
    worker = Worker(db_engine, [CompletionConsumer(FileRegistry(path))], clock=clock)
    sid = _completed_envelope(db_engine, crm)
    caplog.set_level(logging.INFO)
    for _ in range(6):  # an hour and more of passes
        worker.run_once()
        clock.advance(900)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    with DB(db_engine) as db:
        rows = db.exec(select(Delivery).order_by(Delivery.action_index)).all()  # type: ignore[arg-type]
        assert [(d.action_index, d.status, d.attempts) for d in rows] == [(0, "unconfigured", 1),
                                                                         (1, "unconfigured", 1)]
        states = action_states(db, rows[0].firm_id, sid)
        assert [(s.kind, s.target, s.state, s.missing) for s in states] == [
            ("update record", "crm", "unconfigured", "crm"), ("webhook", "provision", "unconfigured", "provision")]
        assert all(s.can_retry for s in states)
        ids = [d.id or 0 for d in rows]
        firm = rows[0].firm_id
    # The firm configures both names; the running worker's registry re-reads the file.
    path.write_text(yaml.safe_dump({"firms": {"acme": {
        "connectors": {"crm": _crm_config(crm)},
        "hooks": {"provision": {"connector": "crm", "action": "create_account"}}}}}), encoding="utf-8")
    worker.run_once()
    with DB(db_engine) as db:  # nothing happens on its own: it waits for "retry now"
        assert {d.status for d in db.exec(select(Delivery)).all()} == {"unconfigured"}
        for delivery_id in ids:
            webhooks.resend(db, firm, delivery_id, now=clock.now())
    worker.run_once()
    record = crm.record("Opportunity", "42")
    assert (record["PO_Number__c"], record["Agreement_Id__c"]) == ("PO-9", sid)
    assert len(crm.accounts()) == 1
    with DB(db_engine) as db:
        assert {(d.action_index, d.status) for d in db.exec(select(Delivery)).all()} == {(0, "delivered"),
                                                                                       (1, "delivered")}
        assert [s.state for s in action_states(db, firm, sid)] == ["done", "done"]
        assert len(db.exec(select(DeliveryAttempt)).all()) == 4


def test_the_example_file_names_what_the_loan_interview_uses(db_engine: Engine) -> None:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    demo = data["firms"]["demo"]
    with DB(db_engine) as db:
        firm = ensure_firm(db, "demo", "Demo")
        version = publish_interview(db, firm, "loan_application", DEFAULT_INTERVIEWS / "loan_application.yml")
        actions = compile_version(version).accord.on_completion
    wanted = {(a.kind, a.target) for a in actions}
    assert wanted == {("update record", "crm"), ("webhook", "loan_servicing")}
    assert "crm" in demo["connectors"] and "loan_servicing" in demo["hooks"]
    registry = load(EXAMPLE)  # it parses and builds as shipped
    assert set(registry.for_firm("demo").connectors) == {"crm"}
    assert set(registry.for_firm("demo").hooks) == {"loan_servicing"}


def test_a_broken_change_keeps_the_last_good_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "integrations.yml"
    registry = FileRegistry(path)
    assert registry.for_firm("demo").hooks == {}
    path.write_text("firms:\n  demo:\n    hooks:\n      loan_servicing: {url: 'https://h.example.com/x'}\n",
                    encoding="utf-8")
    assert set(registry.for_firm("demo").hooks) == {"loan_servicing"}
    path.write_text("firms: [unclosed\n", encoding="utf-8")
    with caplog.at_level(logging.ERROR):
        assert set(registry.for_firm("demo").hooks) == {"loan_servicing"}  # the last good one
        assert set(registry.for_firm("demo").hooks) == {"loan_servicing"}
    assert len([r for r in caplog.records if "not reloaded" in r.getMessage()]) == 1  # said once
    with pytest.raises(yaml.YAMLError):
        FileRegistry(path)  # at the start, a broken file is an error
