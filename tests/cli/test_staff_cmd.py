"""`accord staff add` (the first owner of a firm) and the demo agent `accord serve` creates."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session as DB
from sqlmodel import select

from accord.cli import main
from accord.serve import DEMO_AGENT, seed, seed_demo_agent
from accord.settings import DEFAULT_INTERVIEWS
from manage.staff import LoginError, check_password
from store import migrate
from store.database import make_engine
from store.models import Staff

PASSWORD = "owner password 123"


def test_staff_add_creates_an_owner_and_never_prints_the_password(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'accord.db'}"
    db = make_engine(url)
    migrate.upgrade(db)
    seed(db, DEFAULT_INTERVIEWS)
    monkeypatch.setenv("ACCORD_DATABASE_URL", url)
    monkeypatch.setenv("ACCORD_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ACCORD_STAFF_PASSWORD", PASSWORD)
    args = ["staff", "add", "--firm", "demo", "--email", "Owner@Firm.Example", "--name", "Ann Owner", "--role", "owner"]
    assert main(args) == 0
    out = capsys.readouterr()
    assert "owner@firm.example (owner)" in out.out and "/console/login" in out.out
    assert PASSWORD not in out.out + out.err
    with DB(db) as s:
        row = s.exec(select(Staff).where(Staff.email == "owner@firm.example")).one()
        assert row.role == "owner" and row.totp_secret is None and PASSWORD not in row.password_hash
        assert check_password(s, "owner@firm.example", PASSWORD).id == row.id
    assert main(args) == 1  # the same address again
    assert "exists already" in capsys.readouterr().err
    assert main(["staff", "add", "--firm", "nope", "--email", "c@firm.example", "--name", "C", "--role", "viewer"]) == 1
    assert "no firm" in capsys.readouterr().err
    monkeypatch.setenv("ACCORD_STAFF_PASSWORD", "short")
    assert main(["staff", "add", "--firm", "demo", "--email", "b@firm.example", "--name", "B", "--role", "agent"]) == 1
    assert "at least" in capsys.readouterr().err
    db.dispose()


def test_the_demo_agent_is_created_once_with_a_working_password(tmp_path: Path) -> None:
    db = make_engine(f"sqlite:///{tmp_path / 'accord.db'}")
    migrate.upgrade(db)
    seed(db, DEFAULT_INTERVIEWS)
    password = seed_demo_agent(db)
    assert password is not None and len(password) >= 12
    assert seed_demo_agent(db) is None  # the second start keeps the account (and prints nothing)
    with DB(db) as s:
        assert check_password(s, DEMO_AGENT[0], password).role == "agent"
        with pytest.raises(LoginError):
            check_password(s, DEMO_AGENT[0], password + "x")
    db.dispose()
