"""Shared by the signing tests: a database (SQLite, or PostgreSQL under `make test-postgres`) with
a firm, for the envelope tests; and one PKI with its trust services on 127.0.0.1 plus one fully
signed and sealed loan agreement, for the PAdES tests (signing is the slow part: ~2 s for the
whole flow)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from signflow import PASSPHRASE, Services, SignedFlow, loan_agreement, run, sign_all
from sqlalchemy import Engine
from sqlmodel import Session as DB

from signing.pki import PKI
from signing.services import LoopbackServer, TrustServices, free_port
from store import migrate
from store.database import make_engine
from store.sessions import ensure_firm
from store.testdb import scratch_database


@pytest.fixture
def db_engine(tmp_path: Path) -> Iterator[Engine]:
    with scratch_database(tmp_path) as url:
        migrate.upgrade(url)
        engine = make_engine(url)
        yield engine
        engine.dispose()


@pytest.fixture
def db(db_engine: Engine) -> Iterator[DB]:
    with DB(db_engine) as session:
        yield session


@pytest.fixture
def firm_id(db: DB) -> int:
    firm = ensure_firm(db, "acme", "Acme Lending")
    assert firm.id is not None
    return firm.id


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    directory = tmp_path_factory.mktemp("data") / "pki"
    pki = PKI.open(directory, f"http://127.0.0.1:{free_port()}/pki", passphrase=PASSPHRASE)
    server = LoopbackServer(TrustServices(pki)).start()
    yield Services(pki, directory, server)
    server.stop()


@pytest.fixture(scope="session")
def flow(services: Services) -> SignedFlow:
    return run(sign_all(services.pki, loan_agreement()))


@pytest.fixture(scope="session")
def signed_pdf(flow: SignedFlow, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("signed") / "loan_signed.pdf"
    path.write_bytes(flow.final)
    (path.parent / "summary.json").write_text(json.dumps(flow.signed_by, ensure_ascii=False), encoding="utf-8")
    return path
