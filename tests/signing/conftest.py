"""One PKI with its trust services on 127.0.0.1, and one fully signed and sealed loan agreement, shared by the
signing tests (signing is the slow part: ~2 s for the whole flow)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from signflow import PASSPHRASE, Services, SignedFlow, loan_agreement, run, sign_all

from signing.pki import PKI
from signing.services import LoopbackServer, TrustServices, free_port


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
