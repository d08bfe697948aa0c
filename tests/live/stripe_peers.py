"""The Stripe side of the payment tests, as real processes on 127.0.0.1: localstripe (PaymentIntents,
customers, refunds, signed payment_intent.* webhooks) and the fake Checkout front in front of it
(`fake_checkout.py`), which proxies everything else to localstripe so Accord has one API base.

localstripe is GPL-3.0, so it only ever runs as a separate process started here. It installs into
the project's dev environment (its aiohttp and python-dateutil pins agree with ours), so no
separate venv is needed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
from server import free_port

HERE = Path(__file__).resolve().parent
TEST_KEY = "sk_test_accord_payments"
WEBHOOK_SECRET = "whsec_accord_test_secret"


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer in {timeout} s:\n{log.read_text()[-3000:]}")


class StripePeers:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.localstripe_port, self.front_port = free_port(), free_port()
        self.localstripe = f"http://127.0.0.1:{self.localstripe_port}"
        self.api_base = f"http://127.0.0.1:{self.front_port}"
        self.procs: list[subprocess.Popen[bytes]] = []

    def _spawn(self, name: str, args: list[str], url: str) -> None:
        log = self.folder / f"{name}.log"
        with open(log, "ab") as out:
            proc = subprocess.Popen([sys.executable, str(HERE / f"{name}.py"), *args], stdout=out,
                                    stderr=subprocess.STDOUT)
        self.procs.append(proc)
        _wait(url, proc, log)

    def start(self) -> StripePeers:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._spawn("localstripe_run", ["--port", str(self.localstripe_port)], self.localstripe + "/v1/customers")
        self._spawn("fake_checkout", ["--port", str(self.front_port), "--upstream", self.localstripe],
                    self.api_base + "/v1/checkout/sessions/none")
        return self

    def register_webhook(self, url: str, secret: str = WEBHOOK_SECRET, name: str = "accord",
                         localstripe_events: list[str] | None = None) -> None:
        """Deliver both peers' events to `url` (the fake's Checkout events, localstripe's payment_intent.*;
        only `localstripe_events` of the latter when given). Registering the same name again replaces it."""
        for base in (self.localstripe, self.api_base):
            data = {"url": url, "secret": secret}
            if base == self.localstripe and localstripe_events is not None:
                data.update({f"events[{i}]": e for i, e in enumerate(localstripe_events)})
            r = httpx.post(f"{base}/_config/webhooks/{name}", data=data,
                           headers={"Authorization": f"Bearer {TEST_KEY}"}, timeout=10)
            r.raise_for_status()

    def delivery(self, mode: str) -> None:
        httpx.post(f"{self.api_base}/_config/delivery", data={"mode": mode}, timeout=10).raise_for_status()

    def release(self, copies: int = 1) -> int:
        r = httpx.post(f"{self.api_base}/_test/release", data={"copies": str(copies)}, timeout=30)
        r.raise_for_status()
        return int(r.json()["delivered"])

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        self.procs.clear()

    def __enter__(self) -> StripePeers:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
