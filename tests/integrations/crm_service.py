"""A small Salesforce-style CRM for the tests, as a real HTTP service on 127.0.0.1 with its own
storage (a JSON file): the OAuth2 token endpoint (client credentials), sObject records at
`/services/data/v59.0/sobjects/<Object>/<id>` (GET, PATCH → 204; 401 without a valid token) and a
provisioning endpoint (`POST /services/apexrest/provision`) that creates an account. It stands
for the outside world that cannot run here and speaks its protocol; it lives under tests/ only."""

from __future__ import annotations

import json
import re
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

RECORD = re.compile(r"^/services/data/v\d+\.\d+/sobjects/(\w+)/([\w-]+)$")


class CRM:
    def __init__(self, folder: Path, client_id: str, client_secret: str) -> None:
        self.file = folder / "crm.json"
        self.client_id, self.client_secret = client_id, client_secret
        self.lock = threading.Lock()
        self.tokens: set[str] = set()
        self.calls: list[tuple[str, str]] = []  # (method, path), for assertions
        if not self.file.exists():
            self._write({"records": {}, "accounts": []})
        self.server: ThreadingHTTPServer | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _read(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.file.read_text(encoding="utf-8"))
        return data

    def _write(self, data: dict[str, Any]) -> None:
        self.file.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")

    def put(self, obj: str, record_id: str, fields: dict[str, Any]) -> None:
        with self.lock:
            data = self._read()
            data["records"][f"{obj}/{record_id}"] = fields
            self._write(data)

    def record(self, obj: str, record_id: str) -> dict[str, Any]:
        with self.lock:
            return dict(self._read()["records"].get(f"{obj}/{record_id}", {}))

    def accounts(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self._read()["accounts"])

    def start(self) -> CRM:
        crm = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: Any = None) -> None:
                raw = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                if raw:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length", 0)))

            def _authorised(self) -> bool:
                auth = self.headers.get("Authorization", "")
                return auth.startswith("Bearer ") and auth[7:] in crm.tokens

            def do_POST(self) -> None:  # noqa: N802
                crm.calls.append(("POST", self.path))
                if self.path == "/services/oauth2/token":
                    form = {k: v[0] for k, v in parse_qs(self._body().decode()).items()}
                    if (form.get("grant_type") != "client_credentials" or form.get("client_id") != crm.client_id
                            or form.get("client_secret") != crm.client_secret):
                        self._send(400, {"error": "invalid_client"})
                        return
                    token = secrets.token_urlsafe(16)
                    crm.tokens.add(token)
                    self._send(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})
                    return
                if self.path == "/services/apexrest/provision":
                    if not self._authorised():
                        self._send(401, [{"errorCode": "INVALID_SESSION_ID"}])
                        return
                    payload = json.loads(self._body() or b"{}")
                    with crm.lock:
                        data = crm._read()
                        account = {"id": f"001{len(data['accounts']) + 1:05d}", "request": payload}
                        data["accounts"].append(account)
                        crm._write(data)
                    self._send(201, {"id": account["id"], "success": True})
                    return
                self._send(404, [{"errorCode": "NOT_FOUND"}])

            def do_GET(self) -> None:  # noqa: N802
                crm.calls.append(("GET", self.path))
                match = RECORD.match(self.path)
                if not match:
                    self._send(404, [{"errorCode": "NOT_FOUND"}])
                    return
                if not self._authorised():
                    self._send(401, [{"errorCode": "INVALID_SESSION_ID"}])
                    return
                record = crm.record(match.group(1), match.group(2))
                if not record:
                    self._send(404, [{"errorCode": "NOT_FOUND"}])
                    return
                self._send(200, {"attributes": {"type": match.group(1), "url": self.path}, "Id": match.group(2),
                                 **record})

            def do_PATCH(self) -> None:  # noqa: N802
                crm.calls.append(("PATCH", self.path))
                match = RECORD.match(self.path)
                if not match:
                    self._send(404, [{"errorCode": "NOT_FOUND"}])
                    return
                if not self._authorised():
                    self._send(401, [{"errorCode": "INVALID_SESSION_ID"}])
                    return
                fields = json.loads(self._body() or b"{}")
                with crm.lock:
                    data = crm._read()
                    key = f"{match.group(1)}/{match.group(2)}"
                    if key not in data["records"]:
                        self._send(404, [{"errorCode": "NOT_FOUND"}])
                        return
                    data["records"][key].update(fields)
                    crm._write(data)
                self._send(204)

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)  # the same port on a restart
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
