"""Accord's own trust services on the web app's address, where the certificates it issues point:
the OCSP responder and CRLs (AIA and CRL distribution points), the CA certificates (caIssuers) and
the RFC 3161 time-stamping authority, all under the path of the PKI's base URL (`<public URL>/pki`).

    POST /pki/ocsp              application/ocsp-request     -> application/ocsp-response
    POST /pki/tsa               application/timestamp-query  -> application/timestamp-reply
    GET  /pki/crl/root.crl      GET /pki/crl/ca.crl          (DER CRLs)
    GET  /pki/certs/root.cer    GET /pki/certs/ca.cer        (DER certificates)

The answers come from `signing.services.TrustServices` (the same bytes the signing path embeds).
The endpoints are public by nature, so there is no session and no CSRF check; request bodies are
bounded and never logged. The signing path itself does not call these over HTTP (see
`signing.services.LocalFirstSession`); they exist for external validators (Acrobat, pdfsig, EU DSS).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from signing.pki import PKI
from signing.services import MAX_BODY, TrustServices

BODY_TYPES = {"/ocsp": "application/ocsp-request", "/tsa": "application/timestamp-query"}


class TrustEndpoints:
    def __init__(self, pki: PKI, services: TrustServices | None = None) -> None:
        self.services = services or TrustServices(pki)
        self.prefix = urlsplit(pki.base_url).path.rstrip("/") or "/pki"

    def routes(self) -> list[BaseRoute]:
        return [Route(f"{self.prefix}/{{rest:path}}", self.answer, methods=["GET", "POST"])]

    async def answer(self, request: Request) -> Response:
        path = "/" + request.path_params["rest"]
        body = b""
        if request.method == "POST":
            expected = BODY_TYPES.get(path)
            if expected is None:
                return Response(b"not found", status_code=404, media_type="text/plain")
            if request.headers.get("content-type", "").split(";")[0].strip().lower() != expected:
                return Response(f"send {expected}".encode(), status_code=415, media_type="text/plain")
            declared = request.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
                return Response(b"too large", status_code=413, media_type="text/plain")
            chunks: list[bytes] = []
            size = 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BODY:
                    return Response(b"too large", status_code=413, media_type="text/plain")
                chunks.append(chunk)
            body = b"".join(chunks)
        status, ctype, data = await run_in_threadpool(self.services.handle, request.method, path, body)
        cache = "public, max-age=300" if request.method == "GET" and status == 200 else "no-store"
        return Response(data, status_code=status, media_type=ctype, headers={"Cache-Control": cache})
