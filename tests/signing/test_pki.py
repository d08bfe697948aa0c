"""Accord's CA: keys encrypted at rest, reused on the next start, certificates carrying what signing.pki promises,
and the OCSP/CRL/TSA endpoints answering over HTTP."""

from __future__ import annotations

import datetime as dt
import stat
import urllib.request
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from signflow import PASSPHRASE, Services, run

from signing.pki import DOCUMENT_SIGNING, IDENTITY_ARC, PKI, POLICY_SIGNER, PKIError, identity_methods


def test_private_keys_are_encrypted_on_disk(services: Services) -> None:
    keys = sorted(services.directory.glob("*.key.pem"))
    assert [k.name for k in keys] == ["ca.key.pem", "root.key.pem", "seal.key.pem", "tsa.key.pem"]
    for path in keys:
        data = path.read_bytes()
        assert data.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        with pytest.raises(TypeError):  # no password: refused
            serialization.load_pem_private_key(data, password=None)
        serialization.load_pem_private_key(data, password=PASSPHRASE.encode())
    assert not (services.directory / "passphrase.key").exists()  # the passphrase was given, not generated


def test_second_start_reuses_the_ca(services: Services) -> None:
    again = PKI.open(services.directory, "http://ignored.example/pki", passphrase=PASSPHRASE)
    assert again.root == services.pki.root and again.ca == services.pki.ca
    assert again.seal.certificate == services.pki.seal.certificate
    assert again.base_url == services.pki.base_url  # baked into the certificates at creation
    with pytest.raises(PKIError, match="wrong passphrase"):
        PKI.open(services.directory, passphrase="not it")


def test_without_a_passphrase_a_0600_key_file_is_generated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACCORD_PKI_PASSPHRASE", raising=False)
    first = PKI.open(tmp_path / "pki")
    secret = tmp_path / "pki" / "passphrase.key"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    serialization.load_pem_private_key((tmp_path / "pki" / "ca.key.pem").read_bytes(), password=secret.read_bytes())
    assert PKI.open(tmp_path / "pki").root == first.root
    monkeypatch.setenv("ACCORD_PKI_PASSPHRASE", "from the environment")
    PKI.open(tmp_path / "env")
    assert not (tmp_path / "env" / "passphrase.key").exists()
    serialization.load_pem_private_key((tmp_path / "env" / "ca.key.pem").read_bytes(),
                                       password=b"from the environment")
    monkeypatch.delenv("ACCORD_PKI_PASSPHRASE")  # the variable went missing: a clear error, no new passphrase
    with pytest.raises(PKIError, match="neither in ACCORD_PKI_PASSPHRASE nor in passphrase.key"):
        PKI.open(tmp_path / "env")
    assert not (tmp_path / "env" / "passphrase.key").exists()


def test_concurrent_first_starts_create_one_ca(tmp_path: Path) -> None:
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        pkis = list(pool.map(lambda _: PKI.open(tmp_path / "pki", passphrase="p"), range(4)))
    assert len({p.root.serial_number for p in pkis}) == 1
    assert PKI.open(tmp_path / "pki", passphrase="p").root == pkis[0].root


def test_signer_certificate_contents(services: Services) -> None:
    pki = services.pki
    cred = pki.issue_signer("Nguyễn Thị Hương", "huong@example.vn", ["email_code", "id_document"],
                            reference="CCCD-001190012345")
    cert = cred.certificate
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0]
    assert cn.value == "Nguyễn Thị Hương" and cn._type.name == "UTF8String"
    assert cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)[0].value == "CCCD-001190012345"
    assert cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.RFC822Name) == ["huong@example.vn"]
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.EMAIL_PROTECTION, DOCUMENT_SIGNING}
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.digital_signature and ku.value.content_commitment
    assert not ku.value.key_cert_sign
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == dt.timedelta(days=1, minutes=5)
    policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    main = next(p for p in policies if p.policy_identifier == POLICY_SIGNER)
    assert main.policy_qualifiers[0].explicit_text == "Identity verified by Accord: email_code, id_document"
    assert {p.policy_identifier.dotted_string for p in policies} >= {f"{IDENTITY_ARC}.1", f"{IDENTITY_ARC}.3"}
    assert identity_methods(cert) == ["email_code", "id_document"]
    assert cert.issuer == pki.ca.subject
    cert.verify_directly_issued_by(pki.ca)
    pki.ca.verify_directly_issued_by(pki.root)
    # the key was never written: only the certificate is on file (for the OCSP responder)
    assert (services.directory / "issued" / f"{cert.serial_number:x}.pem").is_file()
    with pytest.raises(ValueError, match="unknown identity"):
        pki.issue_signer("X", "x@example.vn", ["telepathy"])


def test_tsa_and_seal_certificates(services: Services) -> None:
    tsa = services.pki.tsa.certificate
    eku = tsa.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    seal = services.pki.seal.certificate
    assert DOCUMENT_SIGNING in seal.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    basic = services.pki.ca.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert basic.ca and basic.path_length == 0


def _post(url: str, body: bytes, ctype: str) -> bytes:
    req = urllib.request.Request(url, data=body, headers={"Content-Type": ctype}, method="POST")
    with urllib.request.urlopen(req, timeout=5) as r:
        return bytes(r.read())


def test_ocsp_good_then_revoked_and_crls_over_http(services: Services) -> None:
    pki = services.pki
    cred = pki.issue_signer("Trần Văn Đức", "duc@example.vn", ["sms_code"])
    request = ocsp.OCSPRequestBuilder().add_certificate(cred.certificate, pki.ca, hashes.SHA1()).build()
    der = request.public_bytes(serialization.Encoding.DER)
    first = ocsp.load_der_ocsp_response(_post(pki.ocsp_url, der, "application/ocsp-request"))
    assert first.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert first.certificate_status == ocsp.OCSPCertStatus.GOOD
    pki.ca.public_key().verify(first.signature, first.tbs_response_bytes,  # type: ignore[call-arg]
                               __import__("cryptography.hazmat.primitives.asymmetric.ec",
                                          fromlist=["ECDSA"]).ECDSA(first.signature_hash_algorithm))
    pki.revoke(cred.certificate.serial_number)
    second = ocsp.load_der_ocsp_response(_post(pki.ocsp_url, der, "application/ocsp-request"))
    assert second.certificate_status == ocsp.OCSPCertStatus.REVOKED
    with urllib.request.urlopen(pki.crl_url("root"), timeout=5) as r:
        crl = x509.load_der_x509_crl(r.read())
    assert crl.issuer == pki.root.subject and crl.is_signature_valid(pki.root.public_key())  # type: ignore[arg-type]
    with urllib.request.urlopen(pki.cert_url("ca"), timeout=5) as r:
        assert x509.load_der_x509_certificate(r.read()) == pki.ca


def test_tsa_over_http_and_as_the_configured_external_tsa(services: Services) -> None:
    """The TSA endpoint answers RFC 3161 over HTTP; `Pades(tsa_url=...)` (the external-TSA setting) uses it."""
    import hashlib

    import aiohttp
    from signflow import loan_agreement

    from signing.pades import Pades, Stamp
    from signing.pki import POLICY_TSA
    from signing.tsa import timestamper
    from signing.verify import verify_pdf

    pki = services.pki
    digest = hashlib.sha256(b"agreement").digest()

    async def go() -> tuple[object, bytes]:
        async with aiohttp.ClientSession() as session:
            token = await timestamper(pki.tsa_url, session).async_timestamp(digest, "sha256")
            pades = Pades(pki, session, tsa_url=pki.tsa_url)
            cred = pki.issue_signer("Phạm Quốc Bảo", "bao@bank.example", ["passkey"])
            pdf = await pades.sign(loan_agreement().pdf, "sig_lender", cred,
                                   Stamp(name="Phạm Quốc Bảo", verify_url="https://a.example/v"))
            return token, pdf

    token, pdf = run(go())
    info = token["content"]["encap_content_info"]["content"].parsed  # type: ignore[index]
    assert info["policy"].dotted == POLICY_TSA.dotted_string
    assert info["message_imprint"]["hashed_message"].native == digest
    result = verify_pdf(pdf, [pki.root])
    assert result.ok, result.summary
    assert result.signatures[0].kind == "certification" and result.signatures[0].timestamp_ok
    rejected = _post(pki.tsa_url, b"not a request", "application/timestamp-query")
    from asn1crypto import tsp

    assert rejected[0] == 0x30 and rejected[1] == len(rejected) - 2  # SEQUENCE { PKIStatusInfo }, no token
    assert tsp.PKIStatusInfo.load(rejected[2:])["status"].native == "rejection"
