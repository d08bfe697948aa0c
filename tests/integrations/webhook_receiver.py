"""A real webhook receiver on 127.0.0.1 for the tests: it verifies each delivery with the
documented scheme only (HMAC-SHA256 of `t.body`, any `v1`, a replay window) and records what it
accepted. It can be taken down (the port refuses connections) and brought back on the same port,
answer with errors, or be slow (to kill a worker in the middle of a delivery)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def documented_verify(secret: str, header: str, body: bytes, now: float, tolerance: int = 300) -> bool:
    """The receiver's check, written from docs/webhooks.md (not from Accord's code)."""
    items = [part.split("=", 1) for part in header.split(",") if "=" in part]
    t = [v for k, v in items if k == "t"]
    if len(t) != 1 or abs(now - int(t[0])) > tolerance:
        return False
    mac = hmac.new(secret.encode(), t[0].encode() + b"." + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(mac, v) for k, v in items if k == "v1")


class Receiver:
    def __init__(self, secret: str = "", port: int = 0, clock: Any = None) -> None:
        self.secret = secret
        self.port = port
        self.clock = clock  # a jobs.clock.ManualClock: the replay window is checked against it
        self.accepted: list[dict[str, Any]] = []
        self.bad_signatures = 0
        self.fail_next = 0  # answer 500 to this many valid deliveries (after recording them)
        self.delay = 0.0
        self.arrived = 0  # requests that reached the handler (before `delay`)
        self.redirect_to = ""  # answer 302 to this URL instead
        self.server: ThreadingHTTPServer | None = None
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.arrived += 1
                if receiver.delay:
                    time.sleep(receiver.delay)
                if receiver.redirect_to:
                    self.send_response(302)
                    self.send_header("Location", receiver.redirect_to)
                    self.end_headers()
                    return
                now = receiver.clock.now().timestamp() if receiver.clock else time.time()
                if not documented_verify(receiver.secret, self.headers.get("Accord-Signature", ""), body, now):
                    with receiver.lock:
                        receiver.bad_signatures += 1
                    self.send_response(400)
                    self.end_headers()
                    self.wfile.write(b'{"error":"bad signature"}')
                    return
                with receiver.lock:
                    receiver.accepted.append(json.loads(body))
                    failing = receiver.fail_next > 0
                    receiver.fail_next -= 1 if failing else 0
                self.send_response(500 if failing else 200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"received":true}')

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def ids(self) -> list[str]:
        with self.lock:
            return [a["id"] for a in self.accepted]
