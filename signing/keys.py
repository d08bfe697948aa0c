"""Conversions between `cryptography` objects (what `signing.pki` makes) and `asn1crypto` objects (what pyHanko
takes), and a pyHanko signer for a `Credential`."""

from __future__ import annotations

from asn1crypto import keys as a_keys
from asn1crypto import x509 as a_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.sign.signers import SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signing.pki import Credential, PrivateKey


def asn1_cert(cert: x509.Certificate) -> a_x509.Certificate:
    return a_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def asn1_key(key: PrivateKey) -> a_keys.PrivateKeyInfo:
    return a_keys.PrivateKeyInfo.load(key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()))


def simple_signer(credential: Credential) -> SimpleSigner:
    """A pyHanko signer holding the credential's key in memory, with its chain for the CMS certificates."""
    return SimpleSigner(signing_cert=asn1_cert(credential.certificate), signing_key=asn1_key(credential.key),
                        cert_registry=SimpleCertificateStore.from_certs([asn1_cert(c) for c in credential.chain]))
