"""The whole flow on the real loan agreement: every party signs its reserved field (B-LT), the platform seals
(B-LTA), then the result is checked by pyHanko (signing.verify), OpenSSL, poppler's pdfsig and qpdf."""

from __future__ import annotations

import binascii
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from signflow import PEOPLE, Services, SignedFlow, run

from accord.cli import main
from signing.pades import Pades, SigningError, Stamp, render_completion, signature_fields
from signing.verify import verify_pdf

BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")


def test_every_party_signed_and_the_seal_is_last(flow: SignedFlow) -> None:
    fields = signature_fields(flow.final)
    assert [f for f in fields if not f.startswith("Timestamp")] == list(flow.unsigned.signature_fields)
    assert all(fields.values())
    assert set(flow.signed_by) == {f"sig_{role}" for role in PEOPLE}
    for before, after in zip(flow.revisions, flow.revisions[1:]):
        assert after.startswith(before)  # incremental updates only: earlier bytes never change


def test_pyhanko_validates_every_signature(flow: SignedFlow, services: Services) -> None:
    result = verify_pdf(flow.final, [services.pki.root])
    assert result.ok, result.summary
    checks = {c.field: c for c in result.signatures}
    kinds = [c.kind for c in result.signatures]
    assert kinds == ["certification"] + ["approval"] * len(flow.signed_by) + ["document timestamp"]
    for field, name in flow.signed_by.items():
        c = checks[field]
        assert (c.intact, c.valid, c.trusted, c.docmdp_ok, c.timestamp_ok) == (True, True, True, True, True)
        assert c.modification_level == "FORM_FILLING"
        assert c.signer == name and c.email == PEOPLE[field[4:]][1]
        assert list(c.identity) == PEOPLE[field[4:]][2]
    seal = checks["platform_seal"]
    assert seal.ok and seal.modification_level == "LTA_UPDATES" and seal.signer == "Accord e-Seal"
    stamp = result.signatures[-1]
    assert stamp.trusted and stamp.signer == "Accord Time-Stamping Authority"


def test_each_party_revision_validates_on_its_own(flow: SignedFlow, services: Services) -> None:
    """After the first signature alone (B-LT: signature + DSS), nothing is pending."""
    result = verify_pdf(flow.revisions[0], [services.pki.root])
    assert result.ok, result.summary
    assert [c.kind for c in result.signatures] == ["certification"]
    assert result.signatures[0].modification_level in ("NONE", "LTA_UPDATES")


def test_untrusted_root_is_not_ok(flow: SignedFlow, tmp_path: Path) -> None:
    from signing.pki import PKI

    other = PKI.open(tmp_path / "other", "http://127.0.0.1:9/pki", passphrase="x")
    result = verify_pdf(flow.final, [other.root])
    assert not result.ok
    assert all(c.intact and c.valid and not c.trusted for c in result.signatures)


def _signatures(pdf: bytes) -> list[tuple[bytes, bytes, bool]]:
    """(signed bytes, DER CMS, is document timestamp) for every /ByteRange."""
    out = []
    for m in BYTE_RANGE.finditer(pdf):
        a, b, c, d = map(int, m.groups())
        raw = binascii.unhexlify(pdf[a + b + 1:c - 1])
        n = raw[1] & 0x7F if raw[1] & 0x80 else 0
        der = raw[:2 + n + int.from_bytes(raw[2:2 + n], "big")] if n else raw[:2 + raw[1]]
        window = pdf[max(0, m.start() - 2000):m.start() + 200]
        out.append((pdf[a:a + b] + pdf[c:c + d], der, b"/DocTimeStamp" in window))
    return out


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_openssl_verifies_each_cms_against_the_root(flow: SignedFlow, services: Services, tmp_path: Path) -> None:
    root, ca = tmp_path / "root.pem", tmp_path / "ca.pem"
    root.write_bytes(services.pki.root_pem())
    ca.write_bytes((services.directory / "ca.pem").read_bytes())
    sigs = _signatures(flow.final)
    assert len(sigs) == len(flow.signed_by) + 2
    assert [ts for _, _, ts in sigs] == [False] * (len(flow.signed_by) + 1) + [True]
    for i, (content, der, is_ts) in enumerate(sigs):
        (tmp_path / "c.bin").write_bytes(content)
        (tmp_path / "s.der").write_bytes(der)
        if is_ts:
            cmd = ["openssl", "ts", "-verify", "-data", str(tmp_path / "c.bin"), "-in", str(tmp_path / "s.der"),
                   "-token_in", "-CAfile", str(root), "-untrusted", str(ca)]
            expected = "Verification: OK"
        else:
            cmd = ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(tmp_path / "s.der"),
                   "-content", str(tmp_path / "c.bin"), "-CAfile", str(root), "-certfile", str(ca),
                   "-purpose", "any", "-out", "/dev/null"]
            expected = "CMS Verification successful"
        r = subprocess.run(cmd, capture_output=True, text=True)
        assert r.returncode == 0 and expected in r.stdout + r.stderr, (i, r.stdout, r.stderr)
        # and the same CMS over one changed byte fails
        (tmp_path / "c.bin").write_bytes(content[:100] + bytes([content[100] ^ 1]) + content[101:])
        assert subprocess.run(cmd, capture_output=True, text=True).returncode != 0


@pytest.mark.skipif(shutil.which("pdfsig") is None, reason="pdfsig (poppler-utils) not installed")
def test_pdfsig_reports_each_signature_valid(signed_pdf: Path, flow: SignedFlow) -> None:
    """poppler 22.12's certificate verdicts are unreliable and it cannot check document timestamps (notes §4.2):
    only the cryptographic verdict of each CMS signature is asserted."""
    out = subprocess.run(["pdfsig", str(signed_pdf)], capture_output=True, text=True).stdout
    blocks = re.split(r"^Signature #\d+:$", out, flags=re.M)[1:]
    assert len(blocks) == len(flow.signed_by) + 2
    for block, field in zip(blocks, [*flow.signed_by, "platform_seal"]):
        assert f"Signature Field Name: {field}" in block
        assert "Signature Validation: Signature is Valid." in block, block
    assert "Signer Certificate Common Name: Accord Time-Stamping Authority" in blocks[-1]


@pytest.mark.skipif(shutil.which("qpdf") is None, reason="qpdf not installed")
def test_qpdf_check_passes(signed_pdf: Path) -> None:
    r = subprocess.run(["qpdf", "--check", str(signed_pdf)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "No syntax or stream encoding errors found" in r.stdout


def _tamper_offsets(pdf: bytes) -> dict[str, int]:
    """Offsets inside signed byte ranges: the original document, an earlier signature's /Contents (inside every
    later signature's range), a middle revision and the seal's revision."""
    ranges = [tuple(map(int, m.groups())) for m in BYTE_RANGE.finditer(pdf)]
    first, seal = ranges[0], ranges[-2]
    return {
        "original page content": first[1] // 2,
        "first signature's value": first[1] + 200,
        "a middle revision": (ranges[1][2] + ranges[2][1]) // 2,
        "the seal's revision": seal[1] - 300,
        "the last byte the timestamp covers": ranges[-1][2] + ranges[-1][3] - 2,
    }


@pytest.mark.parametrize("where", ["original page content", "first signature's value", "a middle revision",
                                   "the seal's revision", "the last byte the timestamp covers"])
def test_one_flipped_byte_is_detected(where: str, flow: SignedFlow, services: Services, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    pdf = flow.final
    offset = _tamper_offsets(pdf)[where]
    ranges = [tuple(map(int, m.groups())) for m in BYTE_RANGE.finditer(pdf)]
    assert any(a <= offset < a + b or c <= offset < c + d for a, b, c, d in ranges)
    tampered = pdf[:offset] + bytes([pdf[offset] ^ 0x01]) + pdf[offset + 1:]
    result = verify_pdf(tampered, [services.pki.root])
    assert not result.ok
    assert any(not (c.intact and c.valid) for c in result.signatures) or not result.signatures
    path = tmp_path / "tampered.pdf"
    path.write_bytes(tampered)
    root = tmp_path / "root.pem"
    root.write_bytes(services.pki.root_pem())
    assert main(["verify", str(path), "--root", str(root)]) == 1
    assert "FAIL" in capsys.readouterr().out or not result.signatures


def test_cli_verify_prints_one_line_per_signature(signed_pdf: Path, services: Services, flow: SignedFlow,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ACCORD_DATA_DIR", str(services.directory.parent))  # default root: <data dir>/pki/root.pem
    assert main(["verify", str(signed_pdf)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[:-1]] == ["OK"] * (len(flow.signed_by) + 2)
    assert any("sig_applicant (certification): Certified and signed by Nguyễn Thị Hương" in x for x in lines)
    assert lines[-1].startswith("All 6 signatures and timestamps are intact")


def test_cli_verify_unknown_root_fails(signed_pdf: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(signed_pdf), "--root", str(tmp_path / "missing.pem")]) == 2
    assert "missing.pem" in capsys.readouterr().err


def test_only_empty_reserved_fields_can_be_signed(flow: SignedFlow, services: Services) -> None:
    run(_sign_taken_and_missing_fields(flow, services))


async def _sign_taken_and_missing_fields(flow: SignedFlow, services: Services) -> None:
    import aiohttp

    cred = services.pki.issue_signer("Nguyễn Thị Hương", "huong@example.vn", ["email_code"])
    async with aiohttp.ClientSession() as session:
        pades = Pades(services.pki, session)
        with pytest.raises(SigningError, match="already signed"):
            await pades.sign(flow.final, "sig_applicant", cred, Stamp(name="x", verify_url="https://a.example/v"))
        with pytest.raises(SigningError, match="no signature field 'sig_nobody'"):
            await pades.sign(flow.final, "sig_nobody", cred, Stamp(name="x", verify_url="https://a.example/v"))


def test_long_event_log_still_fits_one_page(flow: SignedFlow) -> None:
    import dataclasses
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader
    from signflow import completion

    base = completion(flow.unsigned, flow.revisions[-2], flow.signed_by)
    many = dataclasses.replace(base, events=[dataclasses.replace(base.events[0], detail=f"event {i}")
                                             for i in range(400)])
    pdf = render_completion(many)
    assert int(PdfFileReader(io.BytesIO(pdf)).root["/Pages"]["/Count"]) == 1
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
        shown = len(re.findall(r"event \d+", text))
        assert 40 < shown < 400
        assert f"{400 - shown} further events are in the audit trail" in " ".join(text.split())
        assert "event 0" in text and "event 399" in text  # the first and the last are kept


def test_a_signature_stays_valid_after_its_certificate_expired(flow: SignedFlow, services: Services) -> None:
    """Signer certificates live a day; afterwards the signature is checked at its RFC 3161 time, with the
    revocation data embedded when it was made."""
    import datetime as dt
    import time

    cred = services.pki.issue_signer("Nguyễn Thị Hương", "huong@example.vn", ["email_code"],
                                     validity=dt.timedelta(seconds=4))

    async def sign() -> bytes:
        import aiohttp

        async with aiohttp.ClientSession() as session:
            return await Pades(services.pki, session).sign(
                flow.unsigned.pdf, "sig_applicant", cred, Stamp(name="Nguyễn Thị Hương", verify_url="https://a.example/v"))

    pdf = run(sign())
    expiry = cred.certificate.not_valid_after_utc.timestamp()
    time.sleep(max(0.0, expiry - time.time() + 1.5))
    result = verify_pdf(pdf, [services.pki.root])
    assert result.ok, result.summary
    assert "checked at the timestamped signing time" in result.signatures[0].summary


def test_cli_verify_unsigned_or_not_a_pdf(flow: SignedFlow, services: Services, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "root.pem"
    root.write_bytes(services.pki.root_pem())
    unsigned, junk = tmp_path / "unsigned.pdf", tmp_path / "junk.pdf"
    unsigned.write_bytes(flow.unsigned.pdf)
    junk.write_bytes(b"%PDF-1.7\nnot really\n")
    assert main(["verify", str(unsigned), "--root", str(root)]) == 1
    assert "no signatures" in capsys.readouterr().err
    assert main(["verify", str(junk), "--root", str(root)]) == 1
    assert "damaged or not a PDF" in capsys.readouterr().err


def test_etsi_ades_validation_passes_offline(flow: SignedFlow, services: Services) -> None:
    """pyHanko's ETSI EN 319 102-1 validation (the B-LTA view: timestamps as proof of existence), revocation data
    required and taken only from the file."""
    import datetime as dt
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.ades import ades_lta_validation
    from pyhanko.sign.validation.policy_decl import (
        PdfSignatureValidationSpec,
        RevinfoOnlineFetchingRule,
        RevocationInfoGatheringSpec,
        SignatureValidationSpec,
    )
    from pyhanko_certvalidator.context import CertValidationPolicySpec
    from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
    from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
    from pyhanko_certvalidator.registry import SimpleTrustManager

    from signing.keys import asn1_cert

    spec = PdfSignatureValidationSpec(SignatureValidationSpec(
        cert_validation_policy=CertValidationPolicySpec(
            trust_manager=SimpleTrustManager.build(trust_roots=[asn1_cert(services.pki.root)]),
            revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO)),
        revinfo_gathering_policy=RevocationInfoGatheringSpec(
            online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY)))
    now = dt.datetime.now(dt.UTC)
    timing = ValidationTimingInfo(validation_time=now, best_signature_time=now, point_in_time_validation=False)

    async def validate() -> dict[str, str]:
        reader = PdfFileReader(io.BytesIO(flow.final))
        return {sig.field_name: (await ades_lta_validation(sig, spec, timing_info=timing)).ades_subindic.status.name
                for sig in reader.embedded_regular_signatures}

    assert run(validate()) == {field: "PASSED" for field in [*flow.signed_by, "platform_seal"]}


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) not installed")
def test_completion_page_prints_participant_text_literally(flow: SignedFlow, tmp_path: Path) -> None:
    import dataclasses

    from signflow import completion

    markup = "#set text(red) *bold* $x$ <b>x</b>"
    base = completion(flow.unsigned, flow.revisions[-2], flow.signed_by)
    people = [dataclasses.replace(base.participants[0], name=markup), *base.participants[1:]]
    path = tmp_path / "completion.pdf"
    path.write_bytes(render_completion(dataclasses.replace(base, participants=people)))
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert markup in " ".join(text.split())
    assert "ENV-2026-000123" in text and base.documents[0].original_sha256 in text.replace("\n", "")
    assert "9f" * 32 in text.replace("\n", "").replace(" ", "")
