"""What the web layer needs to know about its deployment, handed in by `accord serve`
(`accord/settings.py` reads it from `ACCORD_*`); the defaults suit tests and `create_app(db)`."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class WebOptions:
    data_dir: Path | None = None  # uploads go to <data dir>/uploads/<sha256> (None: the system's temp dir)
    smtp_host: str = ""  # empty: no e-mail; "save and continue later" says it cannot send
    smtp_port: int = 25
    mail_from: str = "accord@localhost"
    public_url: str = "http://127.0.0.1:8000"  # links in e-mails start with this
    resume_days: float = 7
    max_upload_mb: float = 10
    resume_sends_per_hour: int = 3
    staff_session_minutes: float = 480  # a console login lasts this long (ACCORD_STAFF_SESSION_MINUTES)
    stuck_hours: float = 48  # the console flags an applicant idle this long as stuck (ACCORD_STUCK_HOURS)

    @property
    def upload_dir(self) -> Path:
        return (self.data_dir or Path(tempfile.gettempdir()) / "accord-web") / "uploads"

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)
