"""RFC 3161 time-stamping: Accord's own small TSA, or an external one.

`AccordTSA` answers `TimeStampReq`s with tokens signed by the PKI's TSA certificate (RSA-2048, critical
timeStamping EKU, Accord's TSA policy `POLICY_TSA`). It builds on pyHanko's `DummyTimeStamper` (a complete
RFC 3161 responder that pyHanko ships for tests) and only fixes what a real TSA must state: its policy OID, a
random 64-bit serial number, UTC time and the CA certificate in the token. `signing.services` serves it at
`POST <base>/tsa` (`application/timestamp-query` → `application/timestamp-reply`).

`timestamper(...)` is what the signing code uses: the HTTP client of pyHanko (`HTTPTimeStamper`, aiohttp) on
one shared session, for an external TSA (the caller passes its URL, e.g. from its settings). Accord's own TSA is
called in-process by `signing.pades.Pades` (no HTTP on the signing path). An external TSA must chain to a root
the validator trusts (pass its root in `extra_roots` and to `signing.verify`).
"""

from __future__ import annotations

import datetime as dt
import secrets

import aiohttp
from asn1crypto import cms, core, tsp
from asn1crypto import x509 as a_x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from pyhanko.sign.general import as_signing_certificate, simple_cms_attribute
from pyhanko.sign.timestamps import DummyTimeStamper, HTTPTimeStamper, TimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from signing.keys import asn1_cert, asn1_key
from signing.pki import PKI, POLICY_TSA


class AccordTSA(DummyTimeStamper):
    """Accord's RFC 3161 TSA on the PKI's TSA certificate."""

    def __init__(self, pki: PKI) -> None:
        super().__init__(tsa_cert=asn1_cert(pki.tsa.certificate), tsa_key=asn1_key(pki.tsa.key),
                         certs_to_embed=SimpleCertificateStore.from_certs([asn1_cert(c) for c in pki.tsa.chain]))
        if not isinstance(pki.tsa.key, rsa.RSAPrivateKey):
            raise ValueError("the TSA key must be RSA (pyHanko's RFC 3161 responder signs with PKCS#1 v1.5)")
        self._key = pki.tsa.key

    def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str,
                       dt_: dt.datetime) -> tuple[bytes, cms.CMSAttributes]:
        """As pyHanko's, but with the key object loaded once: the parent re-parses the RSA key for every token,
        and RSA key loading (with its consistency check) costs ~50 ms, more than the rest of the token."""
        md = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
        md.update(tst_info_data)
        signed_attrs = cms.CMSAttributes([
            simple_cms_attribute("content_type", "tst_info"),
            simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(dt_)})),
            simple_cms_attribute("signing_certificate", as_signing_certificate(self.tsa_cert)),
            simple_cms_attribute("message_digest", md.finalize()),
        ])
        signature = self._key.sign(signed_attrs.dump(), PKCS1v15(), get_pyca_cryptography_hash(md_algorithm.upper()))
        return signature, signed_attrs

    def _build_tst_info(self, message_imprint: tsp.MessageImprint, dt_: dt.datetime,
                        req: tsp.TimeStampReq) -> tsp.TSTInfo:
        info = {
            "version": "v1",
            "policy": tsp.ObjectIdentifier(POLICY_TSA.dotted_string),
            "message_imprint": message_imprint,
            "serial_number": secrets.randbits(63),
            "gen_time": dt_.astimezone(dt.UTC),
            "accuracy": {"seconds": 1},
            "tsa": a_x509.GeneralName(name="directory_name", value=self.tsa_cert.subject),
        }
        if req["nonce"].native is not None:
            info["nonce"] = req["nonce"]
        return tsp.TSTInfo(info)

    def respond(self, request_der: bytes) -> bytes:
        """DER TimeStampResp for a DER TimeStampReq (the body of `POST /tsa`)."""
        try:
            req = tsp.TimeStampReq.load(request_der)
            req.native  # noqa: B018  (parse fully now: a malformed request must fail here)
        except ValueError:
            # TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken OPTIONAL }; asn1crypto's class
            # insists on the token, so the rejection is wrapped by hand.
            status = tsp.PKIStatusInfo({"status": "rejection", "fail_info": {"bad_data_format"}}).dump()
            return core.Sequence.load(b"\x30" + _der_length(len(status)) + status).dump()
        return self.request_tsa_response(req).dump()


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def timestamper(url: str, session: aiohttp.ClientSession) -> TimeStamper:
    """pyHanko's RFC 3161 client for `url` (Accord's `pki.tsa_url` or an external TSA) on a shared session."""
    return HTTPTimeStamper(url, session=session, timeout=10)
