"""Staff logins to the console through the real pages: the password, then a TOTP code (enrolled
at the first login from the QR page's secret), lockout after repeated failures, expiry of the
login, CSRF, logout; and no password or code in any log line."""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from consolekit import PASSWORD, csrf_of, login, staff, staff_row  # noqa: E402

from manage.staff import MAX_FAILURES, totp_secret  # noqa: E402
from web.app import JSONFormatter, create_app  # noqa: E402
from web.options import WebOptions  # noqa: E402

SECRET = "console-login-test-secret"


def _password_step(client: TestClient, email: str, password: str) -> object:
    page = client.get("/console/login")
    return client.post("/console/login", data={"_csrf": csrf_of(page.text), "email": email, "password": password},
                       follow_redirects=False)


def test_wrong_password_is_refused_next_to_the_form(db: Engine) -> None:
    sid, _ = staff(db, "demo", "ann@a.test")
    with TestClient(create_app(db, SECRET)) as client:
        r = _password_step(client, "ann@a.test", "not the password")
        assert r.status_code == 422  # type: ignore[attr-defined]
        assert "The e-mail address or the password is not right." in r.text  # type: ignore[attr-defined]
        assert 'value="ann@a.test"' in r.text  # type: ignore[attr-defined]  # what was typed is kept
        assert "accord_staff" not in client.cookies
        assert client.get("/console", follow_redirects=False).headers["location"].startswith("/console/login")
        # An unknown address gets the very same answer (no account discovery).
        r2 = _password_step(client, "nobody@a.test", PASSWORD)
        assert r2.status_code == 422  # type: ignore[attr-defined]
    assert staff_row(db, sid).failed_logins == 1


def test_the_password_alone_opens_nothing_totp_is_required(db: Engine) -> None:
    _, secret = staff(db, "demo", "ann@a.test")
    assert secret is not None
    with TestClient(create_app(db, SECRET)) as client:
        r = _password_step(client, "ann@a.test", PASSWORD)
        assert r.headers["location"] == "/console/2fa"  # type: ignore[attr-defined]
        for path in ("/console", "/console/invite", "/console/rows"):
            assert client.get(path, follow_redirects=False).status_code in (303, 401), path
        page = client.get("/console/2fa")
        assert "Enter your code" in page.text and "totp-secret" not in page.text
        wrong = str((int(pyotp.TOTP(secret).now()) + 1) % 1_000_000).zfill(6)
        r = client.post("/console/2fa", data={"_csrf": csrf_of(page.text), "code": wrong}, follow_redirects=False)
        assert r.status_code == 422 and "The code is not right." in r.text
        assert client.get("/console", follow_redirects=False).status_code == 303
        r = client.post("/console/2fa", data={"_csrf": csrf_of(page.text), "code": pyotp.TOTP(secret).now()},
                        follow_redirects=False)
        assert r.status_code == 303
        assert client.get("/console").status_code == 200


def test_first_login_enrols_the_authenticator_from_the_page(db: Engine) -> None:
    sid, _ = staff(db, "demo", "new@a.test", enrolled=False)
    with TestClient(create_app(db, SECRET)) as client:
        _password_step(client, "new@a.test", PASSWORD)
        page = client.get("/console/2fa")
        assert "<svg" in page.text and "otpauth://totp/Accord:new%40a.test" in page.text
        shown = page.text.split('id="totp-secret">', 1)[1].split("<", 1)[0]
        assert staff_row(db, sid).totp_secret is None  # not kept before a code proves the app has it
        r = client.post("/console/2fa", data={"_csrf": csrf_of(page.text), "code": pyotp.TOTP(shown).now()},
                        follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/console"
    stored = staff_row(db, sid)
    assert stored.totp_secret is not None and shown not in stored.totp_secret  # kept encrypted
    assert totp_secret(stored) == shown


def test_lockout_after_repeated_failures_even_for_the_right_password(db: Engine) -> None:
    sid, secret = staff(db, "demo", "ann@a.test")
    assert secret is not None
    with TestClient(create_app(db, SECRET)) as client:
        for _ in range(MAX_FAILURES - 1):
            assert _password_step(client, "ann@a.test", "wrong wrong wrong").status_code == 422  # type: ignore
        r = _password_step(client, "ann@a.test", "wrong wrong wrong")
        assert r.status_code == 429 and "locked" in r.text  # type: ignore[attr-defined]
        r = _password_step(client, "ann@a.test", PASSWORD)
        assert r.status_code == 429  # type: ignore[attr-defined]
        assert "accord_staff" not in client.cookies
    assert staff_row(db, sid).locked_until is not None


def test_wrong_codes_lock_too(db: Engine) -> None:
    sid, secret = staff(db, "demo", "ann@a.test")
    with TestClient(create_app(db, SECRET)) as client:
        _password_step(client, "ann@a.test", PASSWORD)
        statuses = []
        for _ in range(MAX_FAILURES):
            page = client.get("/console/2fa")
            statuses.append(client.post("/console/2fa", data={"_csrf": csrf_of(page.text), "code": "000000"},
                                        follow_redirects=False).status_code)
        assert statuses[-1] == 429 and set(statuses[:-1]) == {422}
    assert staff_row(db, sid).locked_until is not None


def test_a_login_expires(db: Engine) -> None:
    _, secret = staff(db, "demo", "ann@a.test")
    assert secret is not None
    app = create_app(db, SECRET, options=WebOptions(staff_session_minutes=1 / 60))  # one second
    with TestClient(app) as client:
        login(client, "ann@a.test", secret)
        time.sleep(2.5)
        r = client.get("/console", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/console/login?expired=1"
        assert "Your session has ended" in client.get(r.headers["location"]).text


def test_csrf_is_required_and_logout_ends_the_login(db: Engine) -> None:
    _, secret = staff(db, "demo", "ann@a.test")
    assert secret is not None
    with TestClient(create_app(db, SECRET)) as client:
        client.get("/console/login")
        r = client.post("/console/login", data={"email": "ann@a.test", "password": PASSWORD}, follow_redirects=False)
        assert r.status_code == 403
        token = login(client, "ann@a.test", secret)
        assert client.post("/console/logout", data={"_csrf": "0" * 64}, follow_redirects=False).status_code == 403
        r = client.post("/console/logout", data={"_csrf": token}, follow_redirects=False)
        assert r.status_code == 303
        assert client.get("/console", follow_redirects=False).status_code == 303


def test_a_deactivated_account_is_logged_out(db: Engine) -> None:
    from sqlmodel import Session as DB

    from store.models import Staff

    sid, secret = staff(db, "demo", "ann@a.test")
    assert secret is not None
    with TestClient(create_app(db, SECRET)) as client:
        login(client, "ann@a.test", secret)
        with DB(db) as s:
            row = s.get(Staff, sid)
            assert row is not None
            row.active = False
            s.add(row)
            s.commit()
        assert client.get("/console", follow_redirects=False).status_code == 303


def test_passwords_and_codes_never_reach_the_logs(db: Engine, caplog: pytest.LogCaptureFixture) -> None:
    _, secret = staff(db, "demo", "ann@a.test", password="S3cret-Pa55word!")
    assert secret is not None
    caplog.set_level(logging.DEBUG)
    formatter = JSONFormatter()
    with TestClient(create_app(db, SECRET)) as client:
        _password_step(client, "ann@a.test", "Wr0ng-Pa55word!")
        code = pyotp.TOTP(secret).now()
        login(client, "ann@a.test", secret, password="S3cret-Pa55word!")
    lines = [formatter.format(r) + repr(r.__dict__) for r in caplog.records]
    assert any("staff login refused" in line for line in lines)  # the logs were captured
    for line in lines:
        assert "S3cret-Pa55word!" not in line and "Wr0ng-Pa55word!" not in line
        assert secret not in line
        assert f'"{code}"' not in line


def test_many_failures_from_one_address_are_slowed_across_accounts(db: Engine) -> None:
    from web.console import FAILURES_PER_ADDRESS

    _, secret = staff(db, "demo", "ann@a.test")
    with TestClient(create_app(db, SECRET)) as client:
        for i in range(FAILURES_PER_ADDRESS):  # spread over many addresses: no account gets locked
            assert _password_step(client, f"guess{i}@a.test", "wrong wrong").status_code == 422  # type: ignore
        r = _password_step(client, "ann@a.test", PASSWORD)  # even the right password waits now
        assert r.status_code == 429 and "from this network" in r.text  # type: ignore[attr-defined]


def test_owners_manage_staff_accounts_from_the_console(db: Engine) -> None:
    owner, owner_secret = staff(db, "demo", "owner@a.test", "owner")
    admin, admin_secret = staff(db, "demo", "admin@a.test", "admin")
    agent, agent_secret = staff(db, "demo", "ann@a.test", "agent")
    assert owner_secret and admin_secret and agent_secret
    app = create_app(db, SECRET)
    with TestClient(app) as boss, TestClient(app) as ann, TestClient(app) as adm:
        token = login(boss, "owner@a.test", owner_secret)
        login(ann, "ann@a.test", agent_secret)
        page = boss.get("/console/staff")
        assert page.status_code == 200 and "ann@a.test" in page.text and "Reset the authenticator" in page.text
        assert ann.get("/console/staff").status_code == 403  # agents do not manage staff

        r = boss.post(f"/console/staff/{agent}/deactivate", data={"_csrf": token}, follow_redirects=False)
        assert r.status_code == 303
        assert ann.get("/console", follow_redirects=False).status_code == 303  # logged out at once
        assert _password_step(ann, "ann@a.test", PASSWORD).status_code == 422  # type: ignore[attr-defined]
        boss.post(f"/console/staff/{agent}/activate", data={"_csrf": token})
        boss.post(f"/console/staff/{agent}/reset-2fa", data={"_csrf": token})
        assert staff_row(db, agent).totp_secret is None and staff_row(db, agent).active
        _password_step(ann, "ann@a.test", PASSWORD)
        assert "totp-secret" in ann.get("/console/2fa").text  # a new authenticator is enrolled

        r = boss.post(f"/console/staff/{owner}/deactivate", data={"_csrf": token})
        assert r.status_code == 422 and staff_row(db, owner).active  # not one's own account
        admin_token = login(adm, "admin@a.test", admin_secret)
        r = adm.post(f"/console/staff/{owner}/reset-2fa", data={"_csrf": admin_token})
        assert r.status_code == 422 and totp_secret(staff_row(db, owner)) == owner_secret  # an admin, an owner
        assert adm.post(f"/console/staff/{agent}/deactivate", data={"_csrf": "0" * 64}).status_code == 403  # CSRF
    assert staff_row(db, admin).active


def test_totp_secrets_are_encrypted_at_rest_and_follow_a_key_rotation(db: Engine) -> None:
    """A copy of the database alone cannot make second-factor codes: the column holds a sealed
    value; after `reseal_totp_secrets` under a new first key the old key alone no longer opens it,
    and the login still works with the same authenticator."""
    from sqlmodel import Session as DB

    from manage.staff import reseal_totp_secrets
    from store import secretbox

    sid, secret = staff(db, "demo", "sealed@a.test")
    assert secret is not None
    raw = staff_row(db, sid).totp_secret
    assert raw is not None and secret not in raw and secretbox.is_sealed(raw)
    old_keys = [k for k in os.environ[secretbox.ENV_KEYS].split(",") if k.strip()]  # tests/conftest.py
    old = secretbox.Keyring(old_keys)
    new_key = secretbox.new_key()
    secretbox.configure(secretbox.Keyring([new_key, *old_keys]))
    try:
        with DB(db) as session:
            assert reseal_totp_secrets(session) >= 1
        rotated = staff_row(db, sid).totp_secret or ""
        assert rotated != raw and secretbox.Keyring([new_key]).unseal(rotated) == secret
        with pytest.raises(secretbox.SecretBoxError):
            old.unseal(rotated)
        with TestClient(create_app(db, SECRET)) as client:
            login(client, "sealed@a.test", secret)
            assert client.get("/console").status_code == 200
    finally:
        secretbox.configure(None)
