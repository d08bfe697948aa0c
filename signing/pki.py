"""Accord's own certificate authority: root CA → issuing CA → per-signer, e-seal and TSA certificates.

Created on first use in a directory (`<data dir>/pki`) and reused on every later start:

    pki/
      pki.json              base URL baked into the certificates (AIA / CRL distribution points)
      root.pem, ca.pem      root CA (EC P-384, 20 years) and issuing CA (EC P-256, 10 years)
      seal.pem, tsa.pem     platform e-seal (EC P-256) and TSA (RSA-2048, critical timeStamping EKU)
      *.key.pem             their private keys, PKCS#8 PEM encrypted with the passphrase (PBES2)
      passphrase.key        only when ACCORD_PKI_PASSPHRASE is unset (0600)
      issued/<serial>.pem   every issued certificate: the OCSP responder answers "good" only for these
      revoked.json          serial (hex) -> revocation time

**Keys at rest.** Every private key is PKCS#8 encrypted with a passphrase. With `ACCORD_PKI_PASSPHRASE` set, the
passphrase lives only in the process environment (a secret manager, systemd credential, ...): a copy of the `pki/`
directory or of a backup is useless without it. When it is unset, a random passphrase is generated into
`passphrase.key` (mode 0600) next to the keys, so a development or single-box install works with no setup; the
encryption then only protects against a leak of the key files *without* that file (a partial backup, a key pasted
into a ticket), not against anyone who can read the whole directory. Production should set the variable, or later
move the CA keys into an HSM/PKCS#11 (the signing code only needs a pyHanko `Signer`).

**Per-signer certificates** are issued after the ceremony verified the signer's identity, valid one day by default,
for a fresh key that exists only in memory (`Credential`): the caller signs at once and drops it; nothing but the
certificate is stored. Sole control of the key is thus "one-shot key per signing session" (see the notes, §6).
Subject CN = full name (UTF8String), optional `serialNumber` = the ID document reference, e-mail SAN,
EKU emailProtection + documentSigning, KU digitalSignature + nonRepudiation (critical).

**Identity method in the certificate** (documented so any verifier can read it): the certificatePolicies extension
carries Accord's signer policy `POLICY_SIGNER` with a user notice naming the methods in plain text ("Identity
verified by Accord: email_code, sms_code"), plus one policy OID per method, `IDENTITY_ARC.<n>` (`IDENTITY_METHODS`).
Accord's OIDs live under a UUID-derived arc (`2.25.<uuid>`, ITU-T X.667), which needs no registration.

**Revocation.** Leaf certificates name an OCSP responder (AIA) answered by `ocsp_response()`, signed by the
issuing CA; the issuing CA names the root's CRL (`crl("root")`). `signing.services` serves both, the CA
certificates and the TSA over HTTP (a loopback server now; the web app can mount the same handler later), so B-LT
signing embeds them and validation needs no network afterwards.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509 import ocsp
from cryptography.x509.oid import (
    AuthorityInformationAccessOID,
    ExtendedKeyUsageOID,
    NameOID,
    ObjectIdentifier,
    OCSPExtensionOID,
)

ACCORD_ARC = "2.25.245048208145560180884026153504613726379"
POLICY_SIGNER = ObjectIdentifier(f"{ACCORD_ARC}.1.1")
POLICY_SEAL = ObjectIdentifier(f"{ACCORD_ARC}.1.2")
POLICY_TSA = ObjectIdentifier(f"{ACCORD_ARC}.1.3")
IDENTITY_ARC = f"{ACCORD_ARC}.2"
# Stable numbers: never renumber, only append.
IDENTITY_METHODS: dict[str, int] = {
    "email_code": 1, "sms_code": 2, "id_document": 3, "passkey": 4, "video_call": 5, "staff_login": 6,
    "access_code": 7, "kba": 8,
}
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")
PASSPHRASE_ENV = "ACCORD_PKI_PASSPHRASE"
UTC = dt.UTC

PrivateKey = CertificateIssuerPrivateKeyTypes


class PKIError(Exception):
    """The PKI directory cannot be used: wrong passphrase, missing or damaged files."""


@dataclass(frozen=True)
class Credential:
    """A certificate, its private key and the chain up to (not including) the root."""

    certificate: x509.Certificate
    key: PrivateKey
    chain: tuple[x509.Certificate, ...]


def identity_methods(cert: x509.Certificate) -> list[str]:
    """The identity methods a per-signer certificate records (from its policy OIDs), in issue order."""
    names = {f"{IDENTITY_ARC}.{n}": m for m, n in IDENTITY_METHODS.items()}
    try:
        policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    except x509.ExtensionNotFound:
        return []
    return [names[p.policy_identifier.dotted_string] for p in policies
            if p.policy_identifier.dotted_string in names]


def _now() -> dt.datetime:
    return dt.datetime.now(UTC).replace(microsecond=0)


def _name(cn: str, org: str, serial: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)]
    if serial:
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def _hash_for(key: PrivateKey) -> hashes.SHA256 | hashes.SHA384:
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size >= 384:
        return hashes.SHA384()
    return hashes.SHA256()


class PKI:
    """Accord's CA in a directory. `PKI.open(directory, base_url)` creates it on first use, loads it afterwards.

    `base_url` (e.g. `http://127.0.0.1:8000/pki`) is where `signing.services` answers; it is written into the
    certificates, so it is fixed when the CA is created (`pki.json`) and a different value later is ignored."""

    def __init__(self, directory: Path, base_url: str, org: str, passphrase: bytes) -> None:
        self.directory = directory
        self.base_url = base_url.rstrip("/")
        self.org = org
        self._passphrase = passphrase
        self._lock = threading.Lock()
        self._issued: dict[int, x509.Certificate] = {}
        self._revoked: dict[int, dt.datetime] = {}
        self._crl_cache: dict[str, tuple[dt.datetime, bytes]] = {}
        self.root: x509.Certificate
        self.ca: x509.Certificate
        self._ca_key: PrivateKey
        self.seal: Credential
        self.tsa: Credential

    # ---- URLs (what signing.services serves) --------------------------------------------------------------------
    @property
    def ocsp_url(self) -> str:
        return f"{self.base_url}/ocsp"

    @property
    def tsa_url(self) -> str:
        return f"{self.base_url}/tsa"

    def crl_url(self, issuer: Literal["root", "ca"]) -> str:
        return f"{self.base_url}/crl/{issuer}.crl"

    def cert_url(self, which: Literal["root", "ca"]) -> str:
        return f"{self.base_url}/certs/{which}.cer"

    # ---- creation and loading -------------------------------------------------------------------------------------
    @classmethod
    def open(cls, directory: Path | str, base_url: str = "http://127.0.0.1:8000/pki", *, org: str = "Accord",
             passphrase: bytes | str | None = None) -> PKI:
        """Load the CA in `directory`, creating it (and the directory, 0700) when it does not exist yet.

        The passphrase comes from the argument, else `ACCORD_PKI_PASSPHRASE`, else `directory/passphrase.key`
        (generated on creation, 0600)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        meta_path = directory / "pki.json"
        # Several processes (web workers) may start at once: only one creates the CA, the others then load it.
        with open(directory / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            secret = cls._passphrase_for(directory, passphrase, create=not meta_path.exists())
            if meta_path.exists():
                try:
                    meta = json.loads(meta_path.read_text(encoding="utf-8"))
                    pki = cls(directory, meta["base_url"], meta["org"], secret)
                except (ValueError, KeyError) as exc:
                    raise PKIError(f"{meta_path} is damaged: {exc}") from exc
                pki._load()
            else:
                pki = cls(directory, base_url, org, secret)
                pki._create()
                # written last: a crash halfway through creation leaves no pki.json, so the next start recreates
                meta_path.write_text(json.dumps({"base_url": pki.base_url, "org": org,
                                                 "created": _now().isoformat()}), encoding="utf-8")
        return pki

    @staticmethod
    def _passphrase_for(directory: Path, passphrase: bytes | str | None, *, create: bool) -> bytes:
        if passphrase is None:
            passphrase = os.environ.get(PASSPHRASE_ENV) or None
        if passphrase is not None:
            return passphrase.encode() if isinstance(passphrase, str) else passphrase
        path = directory / "passphrase.key"
        if not path.exists():
            if not create:
                raise PKIError(f"the keys in {directory} are encrypted with a passphrase that is neither in "
                               f"{PASSPHRASE_ENV} nor in passphrase.key")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(32))
        return path.read_bytes().strip()

    def _create(self) -> None:
        now = _now() - dt.timedelta(minutes=5)
        root_key = ec.generate_private_key(ec.SECP384R1())
        root_name = _name(f"{self.org} Root CA", self.org)
        self.root = self._build(root_name, root_name, root_key.public_key(), root_key, now, dt.timedelta(days=20 * 365),
                                ca=1, issuer_public=root_key.public_key())
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = _name(f"{self.org} Issuing CA", self.org)
        self.ca = self._build(ca_name, root_name, ca_key.public_key(), root_key, now, dt.timedelta(days=10 * 365),
                              ca=0, issuer_public=root_key.public_key(), crl=self.crl_url("root"),
                              issuers=self.cert_url("root"))
        self._ca_key = ca_key
        self._write_key("root", root_key)
        self._write_key("ca", ca_key)
        (self.directory / "root.pem").write_bytes(self.root.public_bytes(serialization.Encoding.PEM))
        (self.directory / "ca.pem").write_bytes(self.ca.public_bytes(serialization.Encoding.PEM))
        (self.directory / "issued").mkdir(exist_ok=True, mode=0o700)
        seal_key = ec.generate_private_key(ec.SECP256R1())
        seal_cert = self._leaf(_name(f"{self.org} e-Seal", self.org), seal_key, dt.timedelta(days=3 * 365),
                               eku=[DOCUMENT_SIGNING], policies=[x509.PolicyInformation(POLICY_SEAL, None)])
        self._write_key("seal", seal_key)
        (self.directory / "seal.pem").write_bytes(seal_cert.public_bytes(serialization.Encoding.PEM))
        tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        tsa_cert = self._leaf(_name(f"{self.org} Time-Stamping Authority", self.org), tsa_key,
                              dt.timedelta(days=10 * 365), eku=[ExtendedKeyUsageOID.TIME_STAMPING], eku_critical=True,
                              policies=[x509.PolicyInformation(POLICY_TSA, None)], non_repudiation=False)
        self._write_key("tsa", tsa_key)
        (self.directory / "tsa.pem").write_bytes(tsa_cert.public_bytes(serialization.Encoding.PEM))
        (self.directory / "revoked.json").write_text("{}", encoding="utf-8")
        self.seal = Credential(seal_cert, seal_key, (self.ca,))
        self.tsa = Credential(tsa_cert, tsa_key, (self.ca,))

    def _load(self) -> None:
        try:
            self.root = x509.load_pem_x509_certificate((self.directory / "root.pem").read_bytes())
            self.ca = x509.load_pem_x509_certificate((self.directory / "ca.pem").read_bytes())
            self._ca_key = self._read_key("ca")
            self.seal = Credential(x509.load_pem_x509_certificate((self.directory / "seal.pem").read_bytes()),
                                   self._read_key("seal"), (self.ca,))
            self.tsa = Credential(x509.load_pem_x509_certificate((self.directory / "tsa.pem").read_bytes()),
                                  self._read_key("tsa"), (self.ca,))
            for path in (self.directory / "issued").glob("*.pem"):
                cert = x509.load_pem_x509_certificate(path.read_bytes())
                self._issued[cert.serial_number] = cert
            revoked = json.loads((self.directory / "revoked.json").read_text(encoding="utf-8"))
            self._revoked = {int(k, 16): dt.datetime.fromisoformat(v) for k, v in revoked.items()}
        except (OSError, ValueError, KeyError) as exc:
            raise PKIError(f"cannot load the PKI in {self.directory}: {exc}") from exc

    def _write_key(self, name: str, key: PrivateKey) -> None:
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.BestAvailableEncryption(self._passphrase))
        fd = os.open(self.directory / f"{name}.key.pem", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)

    def _read_key(self, name: str) -> PrivateKey:
        data = (self.directory / f"{name}.key.pem").read_bytes()
        try:
            key = serialization.load_pem_private_key(data, password=self._passphrase)
        except (ValueError, TypeError) as exc:
            raise PKIError(f"cannot decrypt {name}.key.pem in {self.directory}: wrong passphrase "
                           f"({PASSPHRASE_ENV} or passphrase.key)?") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
            raise PKIError(f"{name}.key.pem holds an unsupported key type")
        return key

    # ---- issuance ---------------------------------------------------------------------------------------------------
    def _build(self, subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey,
               signing_key: PrivateKey, not_before: dt.datetime, validity: dt.timedelta, *, ca: int | None,
               issuer_public: object, crl: str | None = None, issuers: str | None = None,
               extra: Sequence[tuple[x509.ExtensionType, bool]] = ()) -> x509.Certificate:
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
                   .serial_number(x509.random_serial_number()).not_valid_before(not_before)
                   .not_valid_after(not_before + validity)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))
        if issuer_public is not public_key:
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_public),  # type: ignore[arg-type]
                critical=False)
        if ca is not None:
            builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=ca), critical=True)
            builder = builder.add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False),
                critical=True)
        if crl:
            builder = builder.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
                full_name=[x509.UniformResourceIdentifier(crl)], relative_name=None, reasons=None,
                crl_issuer=None)]), critical=False)
        if issuers:
            builder = builder.add_extension(x509.AuthorityInformationAccess([x509.AccessDescription(
                AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(issuers))]), critical=False)
        for ext, critical in extra:
            builder = builder.add_extension(ext, critical=critical)
        return builder.sign(signing_key, _hash_for(signing_key))

    def _leaf(self, subject: x509.Name, key: PrivateKey, validity: dt.timedelta, *,
              eku: Sequence[ObjectIdentifier], eku_critical: bool = False, email: str | None = None,
              policies: Sequence[x509.PolicyInformation] = (), non_repudiation: bool = True) -> x509.Certificate:
        extra: list[tuple[x509.ExtensionType, bool]] = [
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (x509.KeyUsage(digital_signature=True, content_commitment=non_repudiation, key_encipherment=False,
                           data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                           encipher_only=False, decipher_only=False), True),
            (x509.ExtendedKeyUsage(list(eku)), eku_critical),
            (x509.AuthorityInformationAccess([
                x509.AccessDescription(AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(
                    self.ocsp_url)),
                x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(
                    self.cert_url("ca")))]), False),
        ]
        if email:
            extra.append((x509.SubjectAlternativeName([x509.RFC822Name(email)]), False))
        if policies:
            extra.append((x509.CertificatePolicies(list(policies)), False))
        public = key.public_key()
        assert isinstance(public, ec.EllipticCurvePublicKey | rsa.RSAPublicKey)
        skew = dt.timedelta(minutes=5)  # valid from 5 minutes ago (clock skew), until now + validity
        cert = self._build(subject, self.ca.subject, public, self._ca_key, _now() - skew, validity + skew, ca=None,
                           issuer_public=self._ca_key.public_key(), extra=extra)
        self._remember(cert)
        return cert

    def _remember(self, cert: x509.Certificate) -> None:
        with self._lock:
            self._issued[cert.serial_number] = cert
        issued = self.directory / "issued"
        issued.mkdir(exist_ok=True, mode=0o700)
        (issued / f"{cert.serial_number:x}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    def issue_signer(self, full_name: str, email: str, identity: Sequence[str], *, reference: str | None = None,
                     validity: dt.timedelta = dt.timedelta(days=1)) -> Credential:
        """A one-day certificate for a signer whose identity the ceremony verified by `identity` (method names,
        e.g. `["email_code", "sms_code"]`), with a fresh key that is never written anywhere.

        `reference` (e.g. the ID document number) becomes the subject's serialNumber when given."""
        if not full_name.strip() or "@" not in email:
            raise ValueError("a signer certificate needs a full name and an e-mail address")
        unknown = [m for m in identity if m not in IDENTITY_METHODS]
        if unknown or not identity:
            raise ValueError(f"unknown identity method(s) {unknown}; known: {sorted(IDENTITY_METHODS)}")
        notice = x509.UserNotice(None, "Identity verified by Accord: " + ", ".join(identity))
        policies = [x509.PolicyInformation(POLICY_SIGNER, [notice])]
        policies += [x509.PolicyInformation(ObjectIdentifier(f"{IDENTITY_ARC}.{IDENTITY_METHODS[m]}"), None)
                     for m in dict.fromkeys(identity)]
        key = ec.generate_private_key(ec.SECP256R1())
        cert = self._leaf(_name(full_name.strip(), self.org, reference), key, validity,
                          eku=[ExtendedKeyUsageOID.EMAIL_PROTECTION, DOCUMENT_SIGNING], email=email,
                          policies=policies)
        return Credential(cert, key, (self.ca,))

    # ---- revocation -------------------------------------------------------------------------------------------------
    def revoke(self, serial: int) -> None:
        """Mark an issued certificate revoked (OCSP answers `revoked` from now on)."""
        with self._lock:
            self._revoked[serial] = _now()
            data = {f"{k:x}": v.isoformat() for k, v in self._revoked.items()}
        (self.directory / "revoked.json").write_text(json.dumps(data), encoding="utf-8")

    def ocsp_response(self, request_der: bytes) -> bytes:
        """DER OCSP response (RFC 6960) for a DER request about one certificate issued by the issuing CA."""
        try:
            req = ocsp.load_der_ocsp_request(request_der)
        except ValueError:
            return ocsp.OCSPResponseBuilder.build_unsuccessful(
                ocsp.OCSPResponseStatus.MALFORMED_REQUEST).public_bytes(serialization.Encoding.DER)
        with self._lock:
            cert = self._issued.get(req.serial_number)
            revoked_at = self._revoked.get(req.serial_number)
        if cert is None:
            return ocsp.OCSPResponseBuilder.build_unsuccessful(
                ocsp.OCSPResponseStatus.UNAUTHORIZED).public_bytes(serialization.Encoding.DER)
        now = _now()
        status = ocsp.OCSPCertStatus.REVOKED if revoked_at else ocsp.OCSPCertStatus.GOOD
        # The answer's CertID uses the request's hash (openssl asks with SHA-1, pyHanko with SHA-256):
        # a validator matches its question to the answer by that CertID.
        try:
            algorithm: hashes.HashAlgorithm = req.hash_algorithm
        except Exception:  # an algorithm `cryptography` does not know
            algorithm = hashes.SHA256()
        if not isinstance(algorithm, (hashes.SHA1, hashes.SHA224, hashes.SHA256, hashes.SHA384, hashes.SHA512)):
            algorithm = hashes.SHA256()
        builder = ocsp.OCSPResponseBuilder().add_response(
            cert=cert, issuer=self.ca, algorithm=algorithm, cert_status=status, this_update=now,
            next_update=now + dt.timedelta(hours=12), revocation_time=revoked_at,
            revocation_reason=x509.ReasonFlags.unspecified if revoked_at else None,
        ).responder_id(ocsp.OCSPResponderEncoding.HASH, self.ca)
        for ext in req.extensions:
            if ext.oid == OCSPExtensionOID.NONCE:
                builder = builder.add_extension(ext.value, critical=False)
        return builder.sign(self._ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def crl(self, issuer: Literal["root", "ca"]) -> bytes:
        """DER CRL of `issuer`, regenerated every hour (valid a day). The root's CRL needs the root key, which is
        decrypted only for this and dropped again."""
        now = _now()
        with self._lock:
            cached = self._crl_cache.get(issuer)
            if cached and now - cached[0] < dt.timedelta(hours=1):
                return cached[1]
            if issuer == "root":
                key, cert, revoked = self._read_key("root"), self.root, {}
            else:
                key, cert = self._ca_key, self.ca
                revoked = {s: t for s, t in self._revoked.items() if s in self._issued}
            builder = (x509.CertificateRevocationListBuilder().issuer_name(cert.subject)
                       .last_update(now - dt.timedelta(minutes=5)).next_update(now + dt.timedelta(days=1))
                       .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
                       .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                           key.public_key()), critical=False))
            for serial, when in revoked.items():
                builder = builder.add_revoked_certificate(
                    x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build())
            der = builder.sign(key, _hash_for(key)).public_bytes(serialization.Encoding.DER)
            self._crl_cache[issuer] = (now, der)
            return der

    def certificate_der(self, which: Literal["root", "ca"]) -> bytes:
        return (self.root if which == "root" else self.ca).public_bytes(serialization.Encoding.DER)

    def root_pem(self) -> bytes:
        return self.root.public_bytes(serialization.Encoding.PEM)
