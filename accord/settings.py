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

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """`ACCORD_DATA_DIR` (default `./data`), `ACCORD_DATABASE_URL` (default a SQLite file
        `accord.db` in the data dir), `ACCORD_INTERVIEWS_DIR` (default the shipped `interviews/`)."""
        env = os.environ if env is None else env
        data_dir = Path(env.get("ACCORD_DATA_DIR") or "data")
        url = env.get("ACCORD_DATABASE_URL") or f"sqlite:///{data_dir / 'accord.db'}"
        interviews = Path(env.get("ACCORD_INTERVIEWS_DIR") or DEFAULT_INTERVIEWS)
        return cls(data_dir=data_dir, database_url=url, interviews_dir=interviews)
