"""Signing: Accord's PKI and trust services, PAdES signing and the platform seal, verification.

`pki` (CA, certificates, OCSP/CRL), `tsa` (RFC 3161), `services` (the HTTP endpoints, transport-free, plus a
loopback server), `pades` (sign reserved fields, seal with the certificate of completion), `verify` (check every
signature). No database and no web code here; envelopes, routing and the audit chain build on this.
See signing/README.md.
"""
