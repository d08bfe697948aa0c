"""Migration 0013: staff TOTP secrets written in plain text by an older Accord are encrypted on
upgrade (the same key ring as webhook secrets, `store.secretbox`) and decrypted by its downgrade;
the login keeps working across it."""

from __future__ import annotations

from pathlib import Path

import pyotp
from alembic import command
from sqlalchemy import Engine, text

from manage.staff import check_code, create_staff
from store import migrate, secretbox
from store.database import make_engine
from store.sessions import ensure_firm
from store.testdb import scratch_database


def raw_totp(engine: Engine) -> list[str | None]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT totp_secret FROM staff ORDER BY id"))]


def test_migration_0013_encrypts_plain_totp_secrets_and_its_downgrade_decrypts(tmp_path: Path) -> None:
    from sqlmodel import Session as DB

    with scratch_database(tmp_path) as url:
        migrate.upgrade(url, "0012")  # before TOTP secrets were encrypted
        engine = make_engine(url)
        try:
            plain = pyotp.random_base32()
            with DB(engine) as db:
                ensure_firm(db, "acme", "Acme Lending")
                create_staff(db, "acme", "ann@acme.test", "Ann", "agent", "a long password 1")
                create_staff(db, "acme", "bob@acme.test", "Bob", "agent", "a long password 2")  # not enrolled
            with engine.begin() as conn:
                conn.execute(text("UPDATE staff SET totp_secret = :s WHERE email = 'ann@acme.test'"), {"s": plain})
            assert raw_totp(engine) == [plain, None]

            migrate.upgrade(url)
            sealed, untouched = raw_totp(engine)
            assert sealed is not None and secretbox.is_sealed(sealed) and plain not in sealed and untouched is None
            assert secretbox.unseal(sealed) == plain
            migrate.upgrade(url)  # again: nothing encrypted twice
            assert raw_totp(engine) == [sealed, None]
            with engine.connect() as conn:
                staff_id = conn.execute(text("SELECT id FROM staff WHERE email = 'ann@acme.test'")).scalar_one()
            with DB(engine) as db:  # the enrolled authenticator still logs in
                assert check_code(db, staff_id, pyotp.TOTP(plain).now()).email == "ann@acme.test"

            with engine.begin() as conn:
                cfg = migrate.config()
                cfg.attributes["connection"] = conn
                command.downgrade(cfg, "0012")
            assert raw_totp(engine) == [plain, None]
        finally:
            engine.dispose()
