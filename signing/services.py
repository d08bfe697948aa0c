"""Accord's trust services over HTTP: OCSP responder, CRLs, CA certificates and the RFC 3161 TSA.

`TrustServices.handle(method, path, body)` is transport-free (path relative to the PKI's base URL), so the web
app can mount it later under `/pki/...` with a few lines of Starlette; until then `LoopbackServer` serves it from
a thread on 127.0.0.1 for the signing code and the tests:

    POST <base>/ocsp              application/ocsp-request     -> application/ocsp-response
    POST <base>/tsa               application/timestamp-query  -> application/timestamp-reply
    GET  <base>/crl/root.crl      the root's CRL (covers the issuing CA)
    GET  <base>/crl/ca.crl        the issuing CA's CRL
    GET  <base>/certs/root.cer    DER certificates (AIA caIssuers)
    GET  <base>/certs/ca.cer
"""

from __future__ import annotations

import http.server
import socket
import threading
from typing import Any, Literal
from urllib.parse import urlsplit

from signing.pki import PKI
from signing.tsa import AccordTSA

Response = tuple[int, str, bytes]
MAX_BODY = 64 * 1024


class TrustServices:
    def __init__(self, pki: PKI, tsa: AccordTSA | None = None) -> None:
        self.pki = pki
        self.tsa = tsa or AccordTSA(pki)

    def handle(self, method: str, path: str, body: bytes = b"") -> Response:
        """`path` is relative to the PKI base URL (e.g. `/ocsp`). Never raises: a failure is a 500 without details
        (the request body is not logged either)."""
        try:
            return self._handle(method, path, body)
        except Exception:
            return 500, "text/plain", b"internal error"

    def _handle(self, method: str, path: str, body: bytes) -> Response:
        if method == "POST" and path == "/ocsp":
            return 200, "application/ocsp-response", self.pki.ocsp_response(body)
        if method == "POST" and path == "/tsa":
            return 200, "application/timestamp-reply", self.tsa.respond(body)
        if method == "GET" and path in ("/crl/root.crl", "/crl/ca.crl"):
            which: Literal["root", "ca"] = "root" if "root" in path else "ca"
            return 200, "application/pkix-crl", self.pki.crl(which)
        if method == "GET" and path in ("/certs/root.cer", "/certs/ca.cer"):
            return 200, "application/pkix-cert", self.pki.certificate_der("root" if "root" in path else "ca")
        return 404, "text/plain", b"not found"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LoopbackServer:
    """`TrustServices` on 127.0.0.1 in a daemon thread. The PKI's base URL must point at this host and port;
    the path prefix of the base URL is stripped."""

    def __init__(self, services: TrustServices) -> None:
        base = urlsplit(services.pki.base_url)
        if base.hostname not in ("127.0.0.1", "localhost") or base.port is None:
            raise ValueError(f"the PKI base URL {services.pki.base_url} is not a loopback URL with a port")
        prefix = base.path.rstrip("/")

        class Handler(http.server.BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # otherwise every answer waits ~40 ms for the delayed ACK

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002  (no access log)
                pass

            def _answer(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY:
                    self.send_error(413)
                    return
                body = self.rfile.read(length) if length else b""
                path = urlsplit(self.path).path
                if not path.startswith(prefix + "/"):
                    status, ctype, data = 404, "text/plain", b"not found"
                else:
                    status, ctype, data = services.handle(method, path[len(prefix):], body)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                self._answer("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._answer("POST")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", base.port), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, name="accord-trust-services", daemon=True)

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _LocalResponse:
    """Just enough of `aiohttp.ClientResponse` for pyHanko's OCSP/CRL/certificate fetchers."""

    def __init__(self, url: str, status: int, ctype: str, body: bytes) -> None:
        self.url, self.status, self._body = url, status, body
        self.headers = {"Content-Type": ctype}
        self.content_type = ctype
        self.request_info = None
        self.history = ()

    async def read(self) -> bytes:
        return self._body

    async def __aenter__(self) -> _LocalResponse:
        if self.status >= 400:
            import aiohttp

            raise aiohttp.ClientResponseError(None, (), status=self.status,  # type: ignore[arg-type]
                                              message=f"{self.status} for {self.url}")
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


class LocalFirstSession:
    """An aiohttp session stand-in for pyHanko's fetchers: requests under the PKI's own base URL are answered
    in-process by `TrustServices` (the same bytes the HTTP endpoints serve), anything else goes to the real
    session. Loopback HTTP to a server thread of the same process costs more than the signing itself (the
    thread competes for the GIL), so the signing path should not take that detour for Accord's own services."""

    def __init__(self, services: TrustServices, session: Any) -> None:
        self.services = services
        self.session = session
        self.prefix = services.pki.base_url + "/"

    def _local(self, method: str, url: str, data: bytes | None) -> _LocalResponse | None:
        url = str(url)
        if not url.startswith(self.prefix):
            return None
        status, ctype, body = self.services.handle(method, url[len(self.prefix) - 1:], data or b"")
        return _LocalResponse(url, status, ctype, body)

    def get(self, url: str, **kwargs: Any) -> Any:
        return self._local("GET", url, None) or self.session.get(url, **kwargs)

    def post(self, url: str, *, data: bytes | None = None, **kwargs: Any) -> Any:
        return self._local("POST", url, data) or self.session.post(url, data=data, **kwargs)
