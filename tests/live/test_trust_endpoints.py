"""Accord's own PKI endpoints, mounted in the web app at the URLs its certificates name
(`ACCORD_PUBLIC_URL/pki/...`), fetched over HTTP from a live `accord serve` the way an external
validator would: the CRLs and CA certificates, an OCSP request with `openssl ocsp`, and an RFC 3161
timestamp with `openssl ts -query` / `-verify`."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID
from server import LiveServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(Path(tmp_path_factory.mktemp("trust")))
    live.env["ACCORD_PUBLIC_URL"] = live.url
    with live:
        yield live


def test_certificates_point_at_the_served_crl_and_ca(server: LiveServer) -> None:
    pki = server.data_dir / "pki"
    ca = x509.load_pem_x509_certificate((pki / "ca.pem").read_bytes())
    root = x509.load_pem_x509_certificate((pki / "root.pem").read_bytes())
    points = ca.extensions.get_extension_for_oid(ExtensionOID.CRL_DISTRIBUTION_POINTS).value
    crl_url = points[0].full_name[0].value
    assert crl_url == f"{server.url}/pki/crl/root.crl"
    answer = httpx.get(crl_url, timeout=10)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(answer.content)
    assert crl.is_signature_valid(root.public_key())  # type: ignore[arg-type]
    ca_crl = x509.load_der_x509_crl(httpx.get(f"{server.url}/pki/crl/ca.crl", timeout=10).content)
    assert ca_crl.is_signature_valid(ca.public_key())  # type: ignore[arg-type]
    served_ca = httpx.get(f"{server.url}/pki/certs/ca.cer", timeout=10)
    assert x509.load_der_x509_certificate(served_ca.content) == ca
    assert httpx.get(f"{server.url}/pki/nothing", timeout=10).status_code == 404


def test_ocsp_over_http_with_openssl(server: LiveServer, tmp_path: Path) -> None:
    pki = server.data_dir / "pki"
    seal = x509.load_pem_x509_certificate((pki / "seal.pem").read_bytes())
    aia = seal.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_INFORMATION_ACCESS).value
    ocsp_url = next(d.access_location.value for d in aia if d.access_method == AuthorityInformationAccessOID.OCSP)
    assert ocsp_url == f"{server.url}/pki/ocsp"
    out = subprocess.run(["openssl", "ocsp", "-issuer", str(pki / "ca.pem"), "-cert", str(pki / "seal.pem"),
                          "-url", ocsp_url, "-CAfile", str(pki / "root.pem"), "-no_nonce"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "Response verify OK" in out.stderr + out.stdout
    assert f"{pki / 'seal.pem'}: good" in out.stdout
    # A request of the wrong type is refused before it reaches the responder.
    wrong = httpx.post(ocsp_url, content=b"x", headers={"content-type": "text/plain"}, timeout=10)
    assert wrong.status_code == 415
    big = httpx.post(ocsp_url, content=b"x" * 70_000, headers={"content-type": "application/ocsp-request"},
                     timeout=10)
    assert big.status_code == 413


def test_timestamp_over_http_with_openssl(server: LiveServer, tmp_path: Path) -> None:
    pki = server.data_dir / "pki"
    data = tmp_path / "data.txt"
    data.write_bytes(b"the agreement as signed\n")
    query = tmp_path / "q.tsq"
    subprocess.run(["openssl", "ts", "-query", "-data", str(data), "-sha256", "-cert", "-out", str(query)],
                   check=True, capture_output=True, timeout=30)
    answer = httpx.post(f"{server.url}/pki/tsa", content=query.read_bytes(),
                        headers={"content-type": "application/timestamp-query"}, timeout=30)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/timestamp-reply"
    reply = tmp_path / "r.tsr"
    reply.write_bytes(answer.content)
    chain = tmp_path / "chain.pem"
    chain.write_bytes((pki / "tsa.pem").read_bytes() + (pki / "ca.pem").read_bytes())
    ok = subprocess.run(["openssl", "ts", "-verify", "-data", str(data), "-in", str(reply),
                         "-CAfile", str(pki / "root.pem"), "-untrusted", str(chain)],
                        capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0 and "Verification: OK" in ok.stdout, ok.stdout + ok.stderr
    data.write_bytes(b"another text\n")  # the token is bound to the data
    bad = subprocess.run(["openssl", "ts", "-verify", "-data", str(data), "-in", str(reply),
                          "-CAfile", str(pki / "root.pem"), "-untrusted", str(chain)],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0
