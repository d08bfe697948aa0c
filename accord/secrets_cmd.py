"""`accord secrets …`: the keys that encrypt stored secrets (`store.secretbox`).

    accord secrets new-key       # print a fresh key for ACCORD_ENCRYPTION_KEYS
    accord secrets rotate-key    # re-encrypt every stored secret under the first key
    accord secrets derived-key   # the key derived from the server's secret key (used while
                                 # ACCORD_ENCRYPTION_KEYS is unset): list it after a new key to move off it

Rotation: put the new key first in `ACCORD_ENCRYPTION_KEYS` and keep the old ones after it
(every key decrypts), run `rotate-key`, then remove the old keys. Run it against each database."""

from __future__ import annotations

import argparse
import sys

from sqlmodel import Session as DB

from accord.settings import Settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    secrets = sub.add_parser("secrets", help="the encryption of stored secrets (webhook signing secrets)")
    ss = secrets.add_subparsers(dest="secrets_command", required=True)
    ss.add_parser("new-key", help="print a new key for ACCORD_ENCRYPTION_KEYS")
    ss.add_parser("rotate-key", help="re-encrypt every stored secret under the first key of ACCORD_ENCRYPTION_KEYS")
    ss.add_parser("derived-key", help="print the key derived from the server's secret key (the default key)")


def cmd_secrets(args: argparse.Namespace) -> int:
    from store import secretbox

    if args.secrets_command == "new-key":
        print(secretbox.new_key())
        return 0
    from accord.serve import configure_encryption, secret_key
    from integrations import webhooks
    from manage.staff import reseal_totp_secrets
    from store import migrate
    from store.database import make_engine

    settings = Settings.from_env()
    if args.secrets_command == "derived-key":
        print(secretbox.derive_key(secret_key(settings)))
        return 0
    try:
        configure_encryption(settings)
    except secretbox.SecretBoxError as exc:
        print(f"accord: {exc}", file=sys.stderr)
        return 2
    db = make_engine(settings.database_url)
    try:
        if not migrate.is_current(db):
            print(f"accord: the database is at revision {migrate.current_revision(db) or 'none'}, not "
                  f"{migrate.head()}: run `accord worker --once` (it migrates) first", file=sys.stderr)
            return 2
        with DB(db) as session:
            count = webhooks.reseal_all(session) + reseal_totp_secrets(session)
    except secretbox.SecretBoxError as exc:
        print(f"accord: {exc}; nothing was changed", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    print(f"re-encrypted {count} stored secret{'s' if count != 1 else ''} under the first key")
    return 0
