"""Sending e-mail over SMTP with the standard library (the resume links). Blocking: call it in a
thread. Nothing here logs the address or the body."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage


class MailError(Exception):
    """The message could not be handed to the SMTP server."""


def send(host: str, port: int, sender: str, to: str, subject: str, body: str, timeout: float = 10) -> None:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(type(exc).__name__) from exc
