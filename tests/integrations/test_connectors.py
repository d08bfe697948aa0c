"""Connectors against real HTTP services on loopback: the generic REST connector (bearer token
from the environment, field mapping), the Salesforce-style one (OAuth2 client credentials, token
reuse and refresh after a 401), the SSRF guard, prefill from a record, and `on completion`
actions that fail while the CRM is down and succeed on a later retry, nothing done twice."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from crm_service import CRM
from po_case import PO_YML, completed_po_order
from sqlalchemy import Engine
from sqlmodel import Session as DB
from sqlmodel import select

from integrations.completion import CompletionConsumer
from integrations.connectors import ConnectorError, FirmIntegrations, Registry, load
from integrations.prefill import PrefillError, make_link, read_link, start_from_record
from integrations.rest import RestConnector
from integrations.salesforce import SalesforceConnector
from jobs.clock import ManualClock
from jobs.worker import Worker
from store.models import Delivery, DeliveryAttempt
from store.sessions import ensure_firm, load_state, publish_interview

TOKEN = "generic-token-from-env"


class Generic:
    """A plain REST/JSON service: /api/records/<id>, GET and PUT, bearer token."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {"7": {"FullName": "Trần Bình", "EmailAddress": "b@example.com"}}
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, body: Any = None) -> None:
                raw = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _id(self) -> str | None:
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._reply(401, {"error": "unauthorised"})
                    return None
                rid = self.path.rsplit("/", 1)[-1]
                if rid not in service.records:
                    self._reply(404, {"error": "not found"})
                    return None
                return rid

            def do_GET(self) -> None:  # noqa: N802
                rid = self._id()
                if rid is not None:
                    self._reply(200, service.records[rid])

            def do_PUT(self) -> None:  # noqa: N802
                rid = self._id()
                if rid is not None:
                    service.records[rid].update(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                    self._reply(200, service.records[rid])

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def generic() -> Iterator[Generic]:
    service = Generic()
    yield service
    service.stop()


@pytest.fixture
def crm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CRM]:
    monkeypatch.setenv("ACCORD_TEST_CRM_ID", "client-1")
    monkeypatch.setenv("ACCORD_TEST_CRM_SECRET", "secret-1")
    service = CRM(tmp_path, "client-1", "secret-1").start()
    service.put("Opportunity", "42", {"Name": "Nguyễn Văn An", "Email": "an@example.com", "Company__c": "Acme"})
    yield service
    service.stop()


def salesforce(crm: CRM, **extra: Any) -> SalesforceConnector:
    return SalesforceConnector({"base_url": crm.url, "object": "Opportunity", "allow_private": True,
                                "auth": {"oauth2": {"client_id_env": "ACCORD_TEST_CRM_ID",
                                                    "client_secret_env": "ACCORD_TEST_CRM_SECRET"}},
                                "actions": {"create_account": {"method": "POST",
                                                               "path": "/services/apexrest/provision"}},
                                **extra})


def test_generic_rest_connector_with_bearer_token_and_field_mapping(generic: Generic,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    config = {"base_url": generic.url + "/api", "record_path": "/records/{id}", "update_method": "PUT",
              "allow_private": True, "auth": {"bearer_env": "ACCORD_TEST_GENERIC_TOKEN"},
              "fields": {"name": "FullName", "email": "EmailAddress"}}
    connector = RestConnector(config)
    with pytest.raises(ConnectorError, match="ACCORD_TEST_GENERIC_TOKEN is not set"):
        connector.fetch("7")
    monkeypatch.setenv("ACCORD_TEST_GENERIC_TOKEN", TOKEN)
    assert connector.fetch("7") == {"name": "Trần Bình", "email": "b@example.com"}
    connector.update("7", {"email": "new@example.com", "po": "PO-1"})
    assert generic.records["7"] == {"FullName": "Trần Bình", "EmailAddress": "new@example.com", "po": "PO-1"}
    with pytest.raises(ConnectorError, match="not found"):
        connector.fetch("8")
    monkeypatch.setenv("ACCORD_TEST_GENERIC_TOKEN", "wrong")
    with pytest.raises(ConnectorError, match="401"):
        connector.fetch("7")
    # Loopback is refused unless the operator's file allows it for this connector.
    strict = RestConnector({**config, "allow_private": False})
    with pytest.raises(ConnectorError, match="refused"):
        strict.fetch("7")


def test_salesforce_connector_oauth2_reuse_and_refresh(crm: CRM) -> None:
    connector = salesforce(crm)
    record = connector.fetch("42")
    assert record["Name"] == "Nguyễn Văn An" and "attributes" not in record
    connector.update("42", {"PO_Number__c": "PO-7"})
    assert crm.record("Opportunity", "42")["PO_Number__c"] == "PO-7"
    assert [c for c in crm.calls if c[1] == "/services/oauth2/token"] == [("POST", "/services/oauth2/token")]
    crm.tokens.clear()  # the CRM revokes every token: the next call refreshes once and goes through
    assert connector.fetch("42")["PO_Number__c"] == "PO-7"
    assert len([c for c in crm.calls if c[1] == "/services/oauth2/token"]) == 2
    assert connector.action("create_account", {"x": 1}) == {"id": "00100001", "success": True}
    bad = salesforce(crm, auth={"oauth2": {"client_id_env": "ACCORD_TEST_CRM_ID",
                                           "client_secret_env": "ACCORD_TEST_CRM_ID"}})
    with pytest.raises(ConnectorError, match="token endpoint refused"):
        bad.fetch("42")


def test_integrations_file_names_env_vars_not_secrets(tmp_path: Path, crm: CRM) -> None:
    path = tmp_path / "integrations.yml"
    path.write_text(f"firms:\n  acme:\n    connectors:\n      crm:\n        type: salesforce\n"
                    f"        base_url: {crm.url}\n        object: Opportunity\n        allow_private: true\n"
                    "        auth: {oauth2: {client_id_env: ACCORD_TEST_CRM_ID,\n"
                    "                        client_secret_env: ACCORD_TEST_CRM_SECRET}}\n"
                    "    hooks:\n      provision: {connector: crm, action: create_account}\n", encoding="utf-8")
    registry = load(path)
    assert registry.for_firm("acme").connectors["crm"].fetch("42")["Company__c"] == "Acme"
    assert registry.for_firm("other").connectors == {}  # another firm sees none of them
    assert load(tmp_path / "missing.yml").firms == {}


def test_prefill_link_and_start_from_record(db_engine: Engine, crm: CRM) -> None:
    token = make_link("k", "acme", "po_order", "42", "vi")
    assert read_link("k", token) == {"firm": "acme", "interview": "po_order", "record": "42", "lang": "vi"}
    with pytest.raises(PrefillError):
        read_link("other-key", token)
    with pytest.raises(PrefillError, match="expired"):
        read_link("k", token, max_age=-1)
    registry = Registry({"acme": FirmIntegrations({"crm": salesforce(crm)})})
    with DB(db_engine) as db:
        firm = ensure_firm(db, "acme", "Acme")
        publish_interview(db, firm, "po_order", PO_YML)
        session = start_from_record(db, registry, "acme", "po_order", "42", "vi", agent_id=None)
        _row, state = load_state(db, session.id)
        assert state.url_args == {"record": "42"} and state.lang == "vi"
        assert (state.namespace["customer_name"], state.namespace["company"]) == ("Nguyễn Văn An", "Acme")
        assert state.log[-1]["block"] == "prefill"
        with pytest.raises(PrefillError, match="not found"):
            start_from_record(db, registry, "acme", "po_order", "99")
        with pytest.raises(PrefillError, match="no connector"):
            start_from_record(db, Registry(), "acme", "po_order", "42")


def test_completion_actions_retry_while_the_crm_is_down(db_engine: Engine, crm: CRM) -> None:
    registry = Registry({"acme": FirmIntegrations({"crm": salesforce(crm)},
                                                   {"provision": {"connector": "crm", "action": "create_account"}})})
    clock = ManualClock(dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC))
    worker = Worker(db_engine, [CompletionConsumer(registry)], clock=clock)
    # The CRM is down when the envelope completes.
    sid = completed_po_order(db_engine, registry, "PO-55", before_signing=crm.stop)
    worker.run_once()
    with DB(db_engine) as db:
        failed = db.exec(select(DeliveryAttempt)).all()
        assert len(failed) == 2 and not any(a.ok for a in failed)  # both actions tried, both failed
    crm.start()  # back, same port and storage
    for _ in range(10):
        clock.advance(60)
        worker.run_once()
    record = crm.record("Opportunity", "42")
    assert (record["PO_Number__c"], record["Agreement_Id__c"], record["Seats__c"]) == ("PO-55", sid, 3)
    assert len(crm.accounts()) == 1 and crm.accounts()[0]["request"]["fields"]["po_number"] == "PO-55"
    with DB(db_engine) as db:
        assert {(d.action_index, d.status) for d in db.exec(select(Delivery)).all()} == {(0, "delivered"),
                                                                                       (1, "delivered")}
