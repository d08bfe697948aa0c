"""Peers for the DNS-pinning tests: a real HTTP(S) server on a loopback address that records each
request's Host header and TLS server name (SNI), a test certificate authority that issues server
certificates for made-up names (cryptography's x509 builder), and a resolver that answers a name
differently after the first lookup (a DNS-rebinding attacker)."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


class TestCA:
    """A certificate authority for one test: `issue(name)` writes a server certificate and key."""

    __test__ = False  # not a test class

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Accord test CA")])
        now = dt.datetime.now(dt.UTC)
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.pem = folder / "ca.pem"
        self.pem.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def client_context(self) -> ssl.SSLContext:
        """What a client that trusts this CA (and only it) verifies with."""
        return ssl.create_default_context(cafile=str(self.pem))

    def server_context(self, dns_name: str) -> ssl.SSLContext:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_name)]))
                .issuer_name(self.cert.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(dns_name)]), critical=False)
                .sign(self.key, hashes.SHA256()))
        cert_file, key_file = self.folder / f"{dns_name}.pem", self.folder / f"{dns_name}.key"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        return context


class Peer:
    """An HTTP server on `host` (any loopback address) answering 200 to every POST and GET."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, tls: ssl.SSLContext | None = None) -> None:
        self.host, self.port, self.tls = host, port, tls
        self.requests: list[dict[str, str]] = []
        self.server_names: list[str | None] = []  # the SNI of each TLS handshake
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> Peer:
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                if length:
                    self.rfile.read(length)
                with peer.lock:
                    peer.requests.append({"method": self.command, "path": self.path,
                                          "host": self.headers.get("Host", "")})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok":true}')

            do_GET = do_POST = _answer  # noqa: N815

        self.server = ThreadingHTTPServer((self.host, self.port), Handler)
        self.port = self.server.server_address[1]
        if self.tls is not None:
            def remember(_sock: ssl.SSLObject | ssl.SSLSocket, name: str | None, _ctx: ssl.SSLContext) -> None:
                with peer.lock:
                    peer.server_names.append(name)

            self.tls.sni_callback = remember  # type: ignore[assignment]
            self.server.socket = self.tls.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


class RebindingResolver:
    """`socket.getaddrinfo` for one made-up name: `first` on the first lookup, `then` afterwards
    (other names go to the real resolver). `lookups` counts the made-up name's lookups."""

    def __init__(self, name: str, first: str, then: str, real: Callable[..., Any] = socket.getaddrinfo) -> None:
        self.name, self.first, self.then, self.real = name, first, then, real
        self.lookups = 0

    def __call__(self, host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0,  # noqa: A002
                 flags: int = 0) -> list[tuple[Any, ...]]:
        if str(host).lower() != self.name:
            return self.real(host, port, family, type, proto, flags)  # type: ignore[no-any-return]
        self.lookups += 1
        address = self.first if self.lookups == 1 else self.then
        kind = socket.AF_INET6 if ":" in address else socket.AF_INET
        sockaddr: tuple[Any, ...] = (address, int(port), 0, 0) if kind == socket.AF_INET6 else (address, int(port))
        return [(kind, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)]
