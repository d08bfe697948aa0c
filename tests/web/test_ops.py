from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from store import migrate
from store.database import make_engine
from web.app import JSONFormatter, create_app


@pytest.fixture
def raw_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'web.db'}")
    yield engine
    engine.dispose()


def test_healthz_is_always_ok(raw_engine: Engine) -> None:
    with TestClient(create_app(raw_engine)) as client:
        response = client.get("/healthz")
    assert response.status_code == 200 and response.text == "ok"
    assert response.headers["x-request-id"]


def test_readyz_wants_current_migrations(raw_engine: Engine) -> None:
    with TestClient(create_app(raw_engine)) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["ready"] is False
        assert "migrations not current" in response.json()["reason"]

        migrate.upgrade(raw_engine)
        response = client.get("/readyz")
        assert response.status_code == 200 and response.json() == {"ready": True}


def test_readyz_when_the_database_is_unreachable(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")
    with TestClient(create_app(engine)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["reason"].startswith("database unreachable")


def test_root_page_does_not_pretend_to_be_the_interview(raw_engine: Engine) -> None:
    with TestClient(create_app(raw_engine)) as client:
        response = client.get("/")
    assert response.status_code == 200 and "issue 3" in response.text


def test_request_log_has_an_id_and_no_query_string(raw_engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="accord.web"), TestClient(create_app(raw_engine)) as client:
        response = client.get("/healthz?applicant_name=Secret+Person", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    lines = [JSONFormatter().format(r) for r in caplog.records if r.name == "accord.web"]
    assert lines
    entry = json.loads(lines[-1])
    assert entry["request_id"] == "abc-123" and entry["path"] == "/healthz" and entry["status"] == 200
    assert all("Secret" not in line for line in lines)


def test_a_bad_incoming_request_id_is_replaced(raw_engine: Engine) -> None:
    with TestClient(create_app(raw_engine)) as client:
        response = client.get("/healthz", headers={"X-Request-ID": "<script>" * 20})
    assert response.headers["x-request-id"] != "<script>" * 20
