"""Webhook signing secrets are stored encrypted (store/secretbox.py): the raw column never holds the
secret, a wrong key is a clear error (and no request), `accord secrets rotate-key` moves every
secret to a new key, migration 0011 encrypts the rows an older Accord stored in plain text (and its
downgrade decrypts them), and a receiver still verifies deliveries with the documented recipe only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, text
from sqlmodel import Session as DB
from sqlmodel import select
from webhook_receiver import Receiver

from accord.serve import configure_encryption, prepare
from accord.settings import Settings
from integrations import webhooks
from store import migrate, secretbox
from store.database import make_engine
from store.models import Firm, WebhookEndpoint, WebhookSecret
from store.sessions import ensure_firm
from store.testdb import scratch_database

ROOT = Path(__file__).resolve().parents[2]


def raw_secrets(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return [str(v) for v in conn.execute(text("SELECT secret FROM webhook_secret ORDER BY id")).scalars()]


def add_endpoint(engine: Engine, firm_id: int, url: str) -> tuple[int, str]:
    with DB(engine) as db:
        webhooks.set_allow_private(db, firm_id, True)  # the receiver is on loopback
        ep, secret = webhooks.add(db, firm_id, url)
        assert ep.id is not None
        return ep.id, secret


def test_the_column_holds_no_plain_secret_and_deliveries_still_verify(db_engine: Engine, firm_id: int) -> None:
    receiver = Receiver().start()
    try:
        ep_id, secret = add_endpoint(db_engine, firm_id, receiver.url)
        with DB(db_engine) as db:
            rotated = webhooks.rotate(db, firm_id, ep_id)
        stored = raw_secrets(db_engine)
        assert len(stored) == 2 and secret.startswith("whsec_") and rotated.startswith("whsec_")
        for value in stored:
            assert value.startswith(secretbox.PREFIX)
            assert secret not in value and rotated not in value and "whsec_" not in value
        with DB(db_engine) as db:
            rows = db.exec(select(WebhookSecret).order_by(WebhookSecret.id)).all()  # type: ignore[arg-type]
            assert [webhooks.secret_of(r) for r in rows] == [secret, rotated]
            # The receiver checks with the documented scheme only, keyed with the new secret.
            receiver.secret = rotated
            outcome = webhooks.send_test(db, firm_id, ep_id)
        assert outcome.ok, outcome.error
        assert receiver.bad_signatures == 0 and [e["type"] for e in receiver.accepted] == ["webhook.test"]
    finally:
        receiver.stop()


def test_a_wrong_key_is_a_clear_error_and_nothing_is_sent(db_engine: Engine, firm_id: int) -> None:
    receiver = Receiver().start()
    try:
        ep_id, secret = add_endpoint(db_engine, firm_id, receiver.url)
        receiver.secret = secret
        secretbox.configure(secretbox.Keyring([secretbox.new_key()]))  # not the key that encrypted it
        with DB(db_engine) as db:
            row = db.exec(select(WebhookSecret)).one()
            with pytest.raises(secretbox.SecretBoxError, match="cannot be decrypted with the configured keys"):
                webhooks.secret_of(row)
            outcome = webhooks.send_test(db, firm_id, ep_id)
        assert not outcome.ok and outcome.retry
        assert outcome.error is not None and "cannot be decrypted" in outcome.error
        assert receiver.arrived == 0  # nothing unsigned or wrongly signed went out
        secretbox.configure(None)  # the right key again (the environment's)
        with DB(db_engine) as db:
            assert webhooks.send_test(db, firm_id, ep_id).ok
        assert receiver.bad_signatures == 0 and len(receiver.accepted) == 1
    finally:
        receiver.stop()


def test_the_key_ring_and_the_derived_key() -> None:
    one, two = secretbox.new_key(), secretbox.new_key()
    sealed = secretbox.from_env({secretbox.ENV_KEYS: one}).seal("whsec_a")
    assert secretbox.Keyring([two, one]).unseal(sealed) == "whsec_a"  # every listed key decrypts
    resealed = secretbox.Keyring([two, one]).reseal(sealed)
    assert secretbox.Keyring([two]).unseal(resealed) == "whsec_a"  # … and the first encrypts
    with pytest.raises(secretbox.SecretBoxError):
        secretbox.Keyring([one]).unseal(resealed)
    # Without ACCORD_ENCRYPTION_KEYS: a key derived from the server's secret key.
    derived = secretbox.from_env({secretbox.ENV_SECRET: "server-secret"}).seal("whsec_b")
    assert secretbox.Keyring([secretbox.derive_key("server-secret")]).unseal(derived) == "whsec_b"
    with pytest.raises(secretbox.SecretBoxError):
        secretbox.from_env({secretbox.ENV_SECRET: "another-secret"}).unseal(derived)
    with pytest.raises(secretbox.SecretBoxError, match="no encryption key"):
        secretbox.from_env({})
    with pytest.raises(secretbox.SecretBoxError, match="key 2 is not a Fernet key"):
        secretbox.from_env({secretbox.ENV_KEYS: f"{one}, not-a-key"})
    with pytest.raises(secretbox.SecretBoxError, match="not encrypted"):
        secretbox.Keyring([one]).unseal("whsec_plain")


def test_rotate_key_command_reencrypts_every_secret(tmp_path: Path) -> None:
    old, new, stranger = secretbox.new_key(), secretbox.new_key(), secretbox.new_key()
    with scratch_database(tmp_path) as url:
        base = {**os.environ, "ACCORD_DATA_DIR": str(tmp_path), "ACCORD_DATABASE_URL": url}

        def accord(keys: str, *args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "accord", *args], cwd=ROOT,
                                  env={**base, secretbox.ENV_KEYS: keys}, capture_output=True, text=True,
                                  timeout=120)

        unmigrated = accord(old, "secrets", "rotate-key")
        assert unmigrated.returncode == 2 and "run `accord worker --once`" in unmigrated.stderr
        db = prepare(Settings.from_env({**base, secretbox.ENV_KEYS: old}))
        malformed = accord("not-a-key", "webhook", "list")
        assert malformed.returncode == 2 and "key 1 is not a Fernet key" in malformed.stderr
        assert "Traceback" not in malformed.stderr
        receiver = Receiver().start()
        try:
            assert accord(old, "webhook", "allow-private", "yes").returncode == 0
            first = accord(old, "webhook", "add", receiver.url)
            assert first.returncode == 0, first.stderr
            secret = first.stdout.split("secret: ", 1)[1].strip()
            rotated = accord(old, "webhook", "rotate", "1").stdout.split("secret: ", 1)[1].strip()
            before = raw_secrets(db)
            assert len(before) == 2 and all(v.startswith(secretbox.PREFIX) for v in before)
            assert all(secret not in v and rotated not in v for v in before)

            # A key ring that cannot open the rows: refused, nothing changed.
            refused = accord(stranger, "secrets", "rotate-key")
            assert refused.returncode == 1 and "cannot be decrypted" in refused.stderr
            assert "nothing was changed" in refused.stderr and raw_secrets(db) == before

            done = accord(f"{new},{old}", "secrets", "rotate-key")
            assert done.returncode == 0, done.stderr
            assert done.stdout.strip() == "re-encrypted 2 stored secrets under the first key"
            after = raw_secrets(db)
            assert after != before and all(v.startswith(secretbox.PREFIX) for v in after)
            assert [secretbox.Keyring([new]).unseal(v) for v in after] == [secret, rotated]

            # The old key alone no longer opens them; the new one alone signs what the receiver checks.
            failed = accord(old, "webhook", "test", "1")
            assert failed.returncode == 1 and "cannot be decrypted" in failed.stdout
            receiver.secret = secret
            assert accord(new, "webhook", "test", "1").stdout.strip() == "ok: 200"
            receiver.secret = rotated
            assert accord(new, "webhook", "test", "1").stdout.strip() == "ok: 200"
            assert receiver.bad_signatures == 0 and len(receiver.accepted) == 2
            assert accord(new, "secrets", "new-key").stdout.strip() != accord(new, "secrets", "new-key").stdout.strip()
        finally:
            receiver.stop()
            db.dispose()


def test_migration_0011_encrypts_plain_rows_and_its_downgrade_decrypts(tmp_path: Path) -> None:
    with scratch_database(tmp_path) as url:
        migrate.upgrade(url, "0005")  # the schema before secrets were encrypted
        engine = make_engine(url)
        try:
            with DB(engine) as db:
                firm = ensure_firm(db, "acme", "Acme Lending")
                ep = WebhookEndpoint(firm_id=firm.id or 0, url="https://hooks.example.com/accord", events=["*"])
                db.add(ep)
                db.flush()
                for plain in ("whsec_old_one", "whsec_old_two"):
                    db.add(WebhookSecret(endpoint_id=ep.id or 0, sealed=plain))  # as an older Accord stored them
                db.commit()
            assert raw_secrets(engine) == ["whsec_old_one", "whsec_old_two"]

            migrate.upgrade(url)
            stored = raw_secrets(engine)
            assert all(v.startswith(secretbox.PREFIX) and "whsec_" not in v for v in stored)
            assert [secretbox.unseal(v) for v in stored] == ["whsec_old_one", "whsec_old_two"]
            migrate.upgrade(url)  # again: nothing to do, nothing encrypted twice
            assert raw_secrets(engine) == stored

            with engine.begin() as conn:
                cfg = migrate.config()
                cfg.attributes["connection"] = conn
                command.downgrade(cfg, "0005")
            assert raw_secrets(engine) == ["whsec_old_one", "whsec_old_two"]
            with DB(engine) as db:
                assert db.exec(select(Firm)).one().slug == "acme"
        finally:
            engine.dispose()


def test_the_migration_needs_a_key_only_when_there_is_something_to_encrypt(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(secretbox.ENV_KEYS, raising=False)
    monkeypatch.delenv(secretbox.ENV_SECRET, raising=False)
    (tmp_path / "empty").mkdir()
    (tmp_path / "rows").mkdir()
    with scratch_database(tmp_path / "empty") as url:
        migrate.upgrade(url)  # no webhook secrets: no key needed
        assert migrate.is_current(url)
    with scratch_database(tmp_path / "rows") as url:
        migrate.upgrade(url, "0005")
        engine = make_engine(url)
        try:
            with DB(engine) as db:
                firm = ensure_firm(db, "acme", "Acme Lending")
                ep = WebhookEndpoint(firm_id=firm.id or 0, url="https://hooks.example.com/accord", events=["*"])
                db.add(ep)
                db.flush()
                db.add(WebhookSecret(endpoint_id=ep.id or 0, sealed="whsec_plain"))
                db.commit()
            with pytest.raises(secretbox.SecretBoxError, match="no encryption key"):
                migrate.upgrade(url)
            assert migrate.current_revision(url) == "0005" and raw_secrets(engine) == ["whsec_plain"]
        finally:
            engine.dispose()


def test_without_keys_the_server_derives_one_from_its_secret_key_file(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(secretbox.ENV_KEYS, raising=False)
    monkeypatch.delenv(secretbox.ENV_SECRET, raising=False)
    settings = Settings.from_env({"ACCORD_DATA_DIR": str(tmp_path)})
    configure_encryption(settings)
    sealed = secretbox.seal("whsec_derived")
    server_key = (tmp_path / "secret_key").read_text(encoding="utf-8").strip()  # made by the first start
    assert secretbox.Keyring([secretbox.derive_key(server_key)]).unseal(sealed) == "whsec_derived"
    configure_encryption(settings)  # the next start: the same file, the same key
    assert secretbox.unseal(sealed) == "whsec_derived"
    monkeypatch.setenv(secretbox.ENV_KEYS, f"{secretbox.new_key()},{secretbox.derive_key(server_key)}")
    configure_encryption(settings)  # moving to ACCORD_ENCRYPTION_KEYS with the derived key kept second
    assert secretbox.unseal(sealed) == "whsec_derived" and secretbox.current().reseal(sealed) != sealed
