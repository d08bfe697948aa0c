"""`accord staff add`: create a staff account (the first owner of a firm, or any later account).

The password is read from `ACCORD_STAFF_PASSWORD` when set (for scripts), else asked twice on the
terminal without echo; it is never printed and never logged. The second factor (TOTP) is enrolled
at the account's first login in the console, where the QR code is shown.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from sqlmodel import Session as DB

from accord.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    staff = sub.add_parser("staff", help="staff accounts of the agent console")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True)
    add = staff_sub.add_parser("add", help="create a staff account (password from ACCORD_STAFF_PASSWORD or asked)")
    add.add_argument("--firm", required=True, help="the firm's slug (the demo firm is 'demo')")
    add.add_argument("--email", required=True, help="the login e-mail address")
    add.add_argument("--name", required=True, help="the person's name as the console shows it")
    add.add_argument("--role", required=True, choices=("owner", "admin", "agent", "viewer"))
    add.add_argument("--sees-all", action="store_true", help="an agent who sees all of the firm's applicants")


def _password() -> str | None:
    given = os.environ.get("ACCORD_STAFF_PASSWORD")
    if given:
        return given
    if not sys.stdin.isatty():
        print("accord: set ACCORD_STAFF_PASSWORD or run this in a terminal", file=sys.stderr)
        return None
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password again: "):
        print("accord: the two passwords differ", file=sys.stderr)
        return None
    return first


def cmd_staff(args: argparse.Namespace) -> int:
    from manage.staff import StaffError, create_staff
    from store import migrate
    from store.database import make_engine

    password = _password()
    if password is None:
        return 2
    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    try:
        migrate.upgrade(engine)
        with DB(engine) as db:
            try:
                staff = create_staff(db, args.firm, args.email, args.name, args.role, password,
                                     sees_all=args.sees_all)
            except StaffError as exc:
                print(f"accord: {exc}", file=sys.stderr)
                return 1
            print(f"staff account {staff.id} created: {staff.email} ({staff.role}); log in at "
                  f"{settings.public_url}/console/login to set up the authenticator app")
        return 0
    finally:
        engine.dispose()
