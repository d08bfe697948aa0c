"""Text messages for SMS one-time codes, behind the `SmsSender` seam.

- `ConsoleSms` writes the message to a stream (stderr): the default for `make run`, like the
  console mailer.
- `HttpSmsGateway` posts to a gateway speaking Twilio's Messages API (`POST
  {base}/2010-04-01/Accounts/{sid}/Messages.json`, form `To`, `From`, `Body`, HTTP basic auth with
  the account SID and auth token; 201 with a JSON message resource). Many providers offer that
  API; set `ACCORD_SMS_URL`, `ACCORD_SMS_ACCOUNT`, `ACCORD_SMS_TOKEN` and `ACCORD_SMS_FROM`.
  The tests run a fake gateway speaking that protocol on loopback (`tests/live/fake_sms.py`).

Logs never carry numbers or message text.
"""

from __future__ import annotations

import base64
import json
import logging
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Protocol, TextIO

from sqlmodel import Session as DB

from store.models import Envelope, Participant

log = logging.getLogger("accord.signing.sms")


class SmsError(Exception):
    """The gateway refused or could not be reached."""


class SmsSender(Protocol):
    def send(self, to: str, body: str) -> None: ...


class ConsoleSms:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr

    def send(self, to: str, body: str) -> None:
        print(f"--- SMS to {to}:\n{body}\n---", file=self.stream, flush=True)


class HttpSmsGateway:
    def __init__(self, base_url: str, account_sid: str, auth_token: str, sender: str, timeout: float = 10) -> None:
        self.url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{urllib.parse.quote(account_sid)}/Messages.json"
        self.auth = "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self.sender, self.timeout = sender, timeout

    def send(self, to: str, body: str) -> None:
        data = urllib.parse.urlencode({"To": to, "From": self.sender, "Body": body}).encode()
        request = urllib.request.Request(self.url, data=data, method="POST", headers={
            "Authorization": self.auth, "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (configured URL)
                answer = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            detail = ""
            try:
                detail = str(json.loads(exc.read() or b"{}").get("message", ""))[:200]
            except ValueError:
                pass
            log.warning("SMS gateway refused a message: HTTP %s", exc.code)
            raise SmsError(f"the SMS gateway answered {exc.code} {detail}".strip()) from exc
        except (OSError, ValueError) as exc:
            log.warning("SMS gateway unreachable: %s", type(exc).__name__)
            raise SmsError("the SMS gateway could not be reached") from exc
        if str(answer.get("status", "")) in ("failed", "undelivered"):
            raise SmsError("the SMS gateway could not deliver the message")


CODE_TEXTS = {
    "en": "Accord: your code for \"{title}\" is {code}. Valid 10 minutes. Never share it.",
    "vi": "Accord: mã của bạn cho \"{title}\" là {code}. Hiệu lực 10 phút. Không chia sẻ mã này.",
}


def sms_code_sender(session_factory: Callable[[], DB], sms: SmsSender) -> Callable[[Participant, str], None]:
    """Delivers `signing.identity.SmsCode` codes by text message, in the envelope's language."""

    def send(participant: Participant, code: str) -> None:
        with session_factory() as db:
            envelope = db.get(Envelope, participant.envelope_id)
            lang = "vi" if envelope is not None and envelope.language.startswith("vi") else "en"
            title = (envelope.title if envelope is not None else "")[:40]
        sms.send(participant.phone or "", CODE_TEXTS[lang].format(title=title, code=code))

    return send
