"""Helpers for the console tests: firms, staff with a known TOTP secret, and logging in through
the real login pages (password, then a current TOTP code)."""

from __future__ import annotations

import re

import pyotp
from sqlalchemy import Engine
from sqlmodel import Session as DB
from starlette.testclient import TestClient

from manage.staff import create_staff
from store import secretbox
from store.models import Staff
from store.sessions import ensure_firm

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="_csrf" value="([0-9a-f]+)"')


def firm(db: Engine, slug: str) -> int:
    with DB(db) as s:
        row = ensure_firm(s, slug, f"Firm {slug}")
        assert row.id is not None
        return row.id


def staff(db: Engine, firm_slug: str, email: str, role: str = "agent", *, sees_all: bool = False,
          enrolled: bool = True, password: str = PASSWORD) -> tuple[int, str | None]:
    """A staff account; with `enrolled`, a TOTP secret already set. Returns (id, secret)."""
    secret = pyotp.random_base32() if enrolled else None
    with DB(db) as s:
        row = create_staff(s, firm_slug, email, email.split("@")[0].title(), role, password, sees_all=sees_all)
        row.totp_secret = secretbox.seal(secret) if secret else None  # as enrolment stores it
        s.add(row)
        s.commit()
        assert row.id is not None
        return row.id, secret


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, html[:500]
    return found.group(1)


def login(client: TestClient, email: str, secret: str, password: str = PASSWORD) -> str:
    """Both factors through the pages; returns the logged-in CSRF token."""
    page = client.get("/console/login")
    r = client.post("/console/login", data={"_csrf": csrf_of(page.text), "email": email, "password": password},
                    follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    page = client.get("/console/2fa")
    r = client.post("/console/2fa", data={"_csrf": csrf_of(page.text), "code": pyotp.TOTP(secret).now()},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console", r.text[:500]
    return csrf_of(client.get("/console").text)


def staff_row(db: Engine, staff_id: int) -> Staff:
    with DB(db) as s:
        row = s.get(Staff, staff_id)
        assert row is not None
        s.expunge(row)
        return row
