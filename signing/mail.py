"""E-mails about envelopes, in the envelope's language (English or Vietnamese), each with the
participant's own signed link, and the `Mailer` seam that sends them.

`SMTPMailer` talks to any SMTP server (tests run a real aiosmtpd on loopback; production points
`ACCORD_SMTP_HOST`/`ACCORD_SMTP_PORT` at its relay). `ConsoleMailer` writes to a stream, for
`make run`. Logs never carry addresses or links: only the kind of notice and ids.
"""

from __future__ import annotations

import smtplib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Protocol, TextIO

from sqlmodel import Session as DB

from signing.envelopes import Notice
from signing.links import make_token
from store.models import Envelope, Participant


@dataclass(frozen=True)
class Mail:
    to_name: str
    to_email: str
    subject: str
    body: str


class Mailer(Protocol):
    def send(self, mail: Mail) -> None: ...


class SMTPMailer:
    def __init__(self, host: str, port: int, sender: str, timeout: float = 10) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout

    def send(self, mail: Mail) -> None:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = formataddr((mail.to_name, mail.to_email))
        msg["Subject"] = mail.subject
        msg["Message-ID"] = make_msgid(domain="accord.invalid")
        msg.set_content(mail.body)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.send_message(msg)


class ConsoleMailer:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr

    def send(self, mail: Mail) -> None:
        print(f"--- mail to {mail.to_email}: {mail.subject}\n{mail.body}\n---", file=self.stream, flush=True)


TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        "invitation": ("Please {verb}: {title}",
                       "Hello {name},\n\nYou are asked to {verb} \"{title}\" as {role}.\n\nOpen your personal link "
                       "(do not forward it):\n{link}\n\n{expiry}"),
        "reminder": ("Reminder: please {verb} {title}",
                     "Hello {name},\n\nA reminder: \"{title}\" is waiting for you to {verb} it.\n\n{link}\n\n{expiry}"),
        "expiry_warning": ("Expires soon: {title}",
                           "Hello {name},\n\n\"{title}\" expires on {expires}. Please act before then:\n{link}\n"),
        "declined": ("Declined: {title}", "Hello {name},\n\n\"{title}\" was declined by the {other}. "
                                          "No further action is needed from you.\n"),
        "voided": ("Cancelled: {title}", "Hello {name},\n\nThe sender cancelled \"{title}\". "
                                         "No further action is needed from you.\n"),
        "expired": ("Expired: {title}", "Hello {name},\n\n\"{title}\" expired before everyone acted. "
                                        "No further action is possible.\n"),
        "completed": ("Completed: {title}", "Hello {name},\n\nEveryone has acted on \"{title}\". The signed "
                                            "agreement and its certificate of completion are here:\n{link}\n"),
        "payment_due": ("Payment due: {title}", "Hello {name},\n\nEveryone has acted on \"{title}\". One step is "
                                                "left before it is complete: your payment of {amount} ({purpose}).\n\n"
                                                "Pay with your personal link (do not forward it):\n{link}\n"),
    },
    "vi": {
        "invitation": ("Đề nghị {verb}: {title}",
                       "Xin chào {name},\n\nBạn được đề nghị {verb} \"{title}\" với vai trò {role}.\n\nMở đường dẫn "
                       "riêng của bạn (không chuyển tiếp cho người khác):\n{link}\n\n{expiry}"),
        "reminder": ("Nhắc nhở: vui lòng {verb} {title}",
                     "Xin chào {name},\n\nXin nhắc: \"{title}\" đang chờ bạn {verb}.\n\n{link}\n\n{expiry}"),
        "expiry_warning": ("Sắp hết hạn: {title}",
                           "Xin chào {name},\n\n\"{title}\" hết hạn vào {expires}. Vui lòng thực hiện trước thời "
                           "hạn đó:\n{link}\n"),
        "declined": ("Đã bị từ chối: {title}", "Xin chào {name},\n\n\"{title}\" đã bị {other} từ chối. "
                                               "Bạn không cần làm gì thêm.\n"),
        "voided": ("Đã hủy: {title}", "Xin chào {name},\n\nNgười gửi đã hủy \"{title}\". Bạn không cần làm gì thêm.\n"),
        "expired": ("Đã hết hạn: {title}", "Xin chào {name},\n\n\"{title}\" đã hết hạn trước khi mọi người thực "
                                           "hiện. Không thể thực hiện thêm.\n"),
        "completed": ("Đã hoàn tất: {title}", "Xin chào {name},\n\nMọi người đã thực hiện xong \"{title}\". Hợp "
                                              "đồng đã ký và giấy chứng nhận hoàn tất ở đây:\n{link}\n"),
        "payment_due": ("Cần thanh toán: {title}", "Xin chào {name},\n\nMọi người đã thực hiện xong \"{title}\". "
                                                   "Chỉ còn một bước trước khi hoàn tất: khoản thanh toán {amount} của "
                                                   "bạn ({purpose}).\n\nThanh toán qua đường dẫn riêng của bạn "
                                                   "(không chuyển tiếp cho người khác):\n{link}\n"),
    },
}
VERBS = {"en": {"sign": "sign", "witness": "witness", "approve": "approve", "review": "review", "cc": "read"},
         "vi": {"sign": "ký", "witness": "làm chứng", "approve": "phê duyệt", "review": "xem xét", "cc": "xem"}}
EXPIRY = {"en": "This link stops working on {expires}.", "vi": "Đường dẫn này hết hiệu lực vào {expires}."}


def role_label(role: str) -> str:
    return role.replace("_", " ")


def compose(notice: Notice, envelope: Envelope, participant: Participant, link: str) -> Mail:
    lang = "vi" if envelope.language.startswith("vi") else "en"
    subject, body = TEXTS[lang][notice.kind]
    expires = envelope.expires_at.strftime("%Y-%m-%d %H:%M UTC") if envelope.expires_at else ""
    values = {"name": participant.name, "title": envelope.title, "role": role_label(participant.role),
              "verb": VERBS[lang].get(participant.action, participant.action), "link": link,
              "expires": notice.detail.get("expires_at", expires)[:16].replace("T", " "),
              "expiry": EXPIRY[lang].format(expires=expires) if expires else "",
              "other": role_label(str(notice.detail.get("role", ""))), **_payment_values(notice, lang)}
    return Mail(participant.name, participant.email, subject.format(**values), body.format(**values).rstrip() + "\n")


def _payment_values(notice: Notice, lang: str) -> dict[str, str]:
    if "amount_minor" not in notice.detail:
        return {}
    from babel.numbers import format_currency

    from payments import to_major

    currency = str(notice.detail["currency"])
    amount = format_currency(to_major(int(notice.detail["amount_minor"]), currency), currency,
                             locale="vi_VN" if lang == "vi" else "en_US")
    purpose = str(notice.detail.get("purpose") or ("thanh toán" if lang == "vi" else "payment"))
    return {"amount": amount, "purpose": purpose}


def envelope_notifier(session_factory: Callable[[], DB], mailer: Mailer, secret: str,
                      public_url: str) -> Callable[[Notice], None]:
    """A `Notifier` for `signing.envelopes`: loads the envelope and participant, composes the mail
    with the participant's signed link (`/sign/<token>`) and sends it."""

    def notify(notice: Notice) -> None:
        with session_factory() as db:
            envelope = db.get(Envelope, notice.envelope_id)
            participant = db.get(Participant, notice.participant_id)
            if envelope is None or participant is None:
                return
            link = f"{public_url.rstrip('/')}/sign/{make_token(secret, participant.id)}"
            mail = compose(notice, envelope, participant, link)
        mailer.send(mail)

    return notify


CODE_TEXTS = {
    "en": ("Your code: {code}", "Hello {name},\n\nYour one-time code to confirm who you are for \"{title}\" is:\n\n"
                                "    {code}\n\nIt is valid for 10 minutes. If you did not ask for it, ignore this "
                                "e-mail.\n"),
    "vi": ("Mã của bạn: {code}", "Xin chào {name},\n\nMã dùng một lần để xác nhận danh tính của bạn cho \"{title}\" "
                                 "là:\n\n    {code}\n\nMã có hiệu lực trong 10 phút. Nếu bạn không yêu cầu mã này, "
                                 "hãy bỏ qua e-mail.\n"),
}


def code_sender(session_factory: Callable[[], DB], mailer: Mailer) -> Callable[[Participant, str], None]:
    """Delivers `signing.identity.EmailCode` codes by e-mail, in the envelope's language."""

    def send(participant: Participant, code: str) -> None:
        with session_factory() as db:
            envelope = db.get(Envelope, participant.envelope_id)
            lang = "vi" if envelope is not None and envelope.language.startswith("vi") else "en"
            title = envelope.title if envelope is not None else ""
        subject, body = CODE_TEXTS[lang]
        values = {"name": participant.name, "title": title, "code": code}
        mailer.send(Mail(participant.name, participant.email, subject.format(**values), body.format(**values)))

    return send
