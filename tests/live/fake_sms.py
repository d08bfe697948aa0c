"""A fake SMS gateway for the tests: it speaks Twilio's Messages API on 127.0.0.1 (the outside world
that cannot run here), so `signing.sms.HttpSmsGateway` is exercised over real HTTP.

    POST /2010-04-01/Accounts/{sid}/Messages.json   form To, From, Body; HTTP basic auth sid:token
        201 {"sid": "SM…", "status": "queued", "to": …, "from": …, "body": …}
        401 {"code": 20003, "message": "Authenticate"}            wrong credentials
        400 {"code": 21211, "message": "Invalid 'To' Phone Number"} a `To` that is not E.164
        400 {"code": 21604, "message": "A 'Body' is required"}
"""

from __future__ import annotations

import base64
import http.server
import json
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass


@dataclass(frozen=True)
class Sms:
    to: str
    sender: str
    body: str


class FakeSmsGateway:
    def __init__(self, account_sid: str = "AC" + "0" * 32, auth_token: str = "test-token") -> None:
        self.account_sid, self.auth_token = account_sid, auth_token
        self.messages: list[Sms] = []
        self.requests = 0
        gateway = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def _json(self, status: int, payload: dict[str, object]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802
                gateway.requests += 1
                expected_path = f"/2010-04-01/Accounts/{gateway.account_sid}/Messages.json"
                if self.path != expected_path:
                    self._json(404, {"code": 20404, "message": "The requested resource was not found"})
                    return
                expected = "Basic " + base64.b64encode(
                    f"{gateway.account_sid}:{gateway.auth_token}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    self._json(401, {"code": 20003, "message": "Authenticate"})
                    return
                if self.headers.get("Content-Type", "").split(";")[0] != "application/x-www-form-urlencoded":
                    self._json(400, {"code": 20001, "message": "form encoding expected"})
                    return
                length = int(self.headers.get("Content-Length") or 0)
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                to, sender, body = (form.get(k, [""])[0] for k in ("To", "From", "Body"))
                if not re.fullmatch(r"\+[1-9]\d{6,14}", to):
                    self._json(400, {"code": 21211, "message": f"Invalid 'To' Phone Number: {to}"})
                    return
                if not body:
                    self._json(400, {"code": 21604, "message": "A 'Body' is required"})
                    return
                gateway.messages.append(Sms(to, sender, body))
                self._json(201, {"sid": f"SM{len(gateway.messages):032d}", "status": "queued", "to": to,
                                 "from": sender, "body": body, "account_sid": gateway.account_sid})

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def env(self, sender: str = "+15005550006") -> dict[str, str]:
        """The `accord serve` settings that point at this gateway."""
        return {"ACCORD_SMS_URL": self.url, "ACCORD_SMS_ACCOUNT": self.account_sid,
                "ACCORD_SMS_TOKEN": self.auth_token, "ACCORD_SMS_FROM": sender}

    def wait_for(self, count: int, timeout: float = 10) -> list[Sms]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.messages) >= count, f"{len(self.messages)} SMS, expected {count}"
        return self.messages

    def __enter__(self) -> FakeSmsGateway:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
