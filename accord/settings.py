"""Settings from the environment (`ACCORD_*`), read once at start-up."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_INTERVIEWS = Path(__file__).resolve().parent.parent / "interviews"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    interviews_dir: Path
    # "Save and continue later": where resume links are sent from and what they point at.
    smtp_host: str = ""  # empty: e-mail is not set up, the wizard says so instead of sending
    smtp_port: int = 25
    mail_from: str = "accord@localhost"
    public_url: str = "http://127.0.0.1:8000"
    resume_days: float = 7
    max_upload_mb: float = 10
    staff_session_minutes: float = 480  # how long a console login lasts
    stuck_hours: float = 48  # no activity for this long: the console flags the applicant as stuck
    demo_agent: bool = True  # `accord serve` creates the demo firm's agent on first start
    # SMS one-time codes through a gateway speaking Twilio's Messages API; empty URL: printed to stderr.
    sms_url: str = ""
    sms_account: str = ""
    sms_token: str = ""
    sms_from: str = ""
    # Payments (Stripe): both secrets are needed, else the payment step says "not configured".
    stripe_secret_key: str = ""
    stripe_webhook_secret: str = ""
    stripe_api_base: str = ""  # empty: Stripe itself; the tests point it at a Stripe-protocol peer
    # The outbox worker's transport: "table" (embedded, any database) or "procrastinate" (PostgreSQL).
    queue: str = "table"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """`ACCORD_DATA_DIR` (default `./data`), `ACCORD_DATABASE_URL` (default a SQLite file
        `accord.db` in the data dir), `ACCORD_INTERVIEWS_DIR` (default the shipped `interviews/`),
        `ACCORD_SMTP_HOST`/`ACCORD_SMTP_PORT`/`ACCORD_MAIL_FROM` (resume e-mails), `ACCORD_PUBLIC_URL`
        (the server's address as applicants see it, for links in e-mails), `ACCORD_RESUME_DAYS`
        (how long a resume link works, default 7), `ACCORD_MAX_UPLOAD_MB` (per file, default 10),
        `ACCORD_STAFF_SESSION_MINUTES` (how long a console login lasts, default 480),
        `ACCORD_STUCK_HOURS` (no activity for this long flags an applicant as stuck in the console, default 48),
        `ACCORD_DEMO_AGENT` (0: do not create the demo agent account; default 1),
        `ACCORD_SMS_URL`/`ACCORD_SMS_ACCOUNT`/`ACCORD_SMS_TOKEN`/`ACCORD_SMS_FROM` (SMS codes' gateway),
        `ACCORD_STRIPE_SECRET_KEY` / `ACCORD_STRIPE_WEBHOOK_SECRET` (payments; see docs/payments.md),
        `ACCORD_STRIPE_API_BASE` (another Stripe API address: tests only), `ACCORD_QUEUE` (`table`, the
        default, or `procrastinate` on PostgreSQL: how the outbox worker queues deliveries).
        `ACCORD_ENCRYPTION_KEYS` (secrets at rest) is read by `accord.serve.configure_encryption`
        (store/secretbox.py)."""
        env = os.environ if env is None else env
        data_dir = Path(env.get("ACCORD_DATA_DIR") or "data")
        url = env.get("ACCORD_DATABASE_URL") or f"sqlite:///{data_dir / 'accord.db'}"
        interviews = Path(env.get("ACCORD_INTERVIEWS_DIR") or DEFAULT_INTERVIEWS)
        return cls(
            data_dir=data_dir, database_url=url, interviews_dir=interviews,
            smtp_host=env.get("ACCORD_SMTP_HOST", ""),
            smtp_port=int(env.get("ACCORD_SMTP_PORT") or 25),
            mail_from=env.get("ACCORD_MAIL_FROM") or "accord@localhost",
            public_url=(env.get("ACCORD_PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/"),
            resume_days=float(env.get("ACCORD_RESUME_DAYS") or 7),
            max_upload_mb=float(env.get("ACCORD_MAX_UPLOAD_MB") or 10),
            staff_session_minutes=float(env.get("ACCORD_STAFF_SESSION_MINUTES") or 480),
            stuck_hours=_positive(env, "ACCORD_STUCK_HOURS", 48),
            demo_agent=(env.get("ACCORD_DEMO_AGENT") or "1") not in ("0", "false", "no"),
            sms_url=env.get("ACCORD_SMS_URL", ""), sms_account=env.get("ACCORD_SMS_ACCOUNT", ""),
            sms_token=env.get("ACCORD_SMS_TOKEN", ""), sms_from=env.get("ACCORD_SMS_FROM", ""),
            stripe_secret_key=env.get("ACCORD_STRIPE_SECRET_KEY", ""),
            stripe_webhook_secret=env.get("ACCORD_STRIPE_WEBHOOK_SECRET", ""),
            stripe_api_base=env.get("ACCORD_STRIPE_API_BASE", ""),
            queue=(env.get("ACCORD_QUEUE") or "table").strip().lower(),
        )


class SettingsError(ValueError):
    """An `ACCORD_*` variable holds something unusable (the message names it; no traceback)."""


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number (got {raw!r})") from None
    if not value > 0:
        raise SettingsError(f"{name} must be more than 0 (got {raw!r})")
    return value
