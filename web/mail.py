"""Sending e-mail (the resume links) through the same SMTP mailer as the signing e-mails
(`signing.mail.SMTPMailer`). Blocking: call it in a thread. Nothing here logs the address or the body."""

from __future__ import annotations

import smtplib

from signing.mail import Mail, SMTPMailer


class MailError(Exception):
    """The message could not be handed to the SMTP server."""


def send(host: str, port: int, sender: str, to: str, subject: str, body: str, timeout: float = 10) -> None:
    try:
        SMTPMailer(host, port, sender, timeout).send(Mail("", to, subject, body))
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(type(exc).__name__) from exc
