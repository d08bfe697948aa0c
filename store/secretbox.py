"""Secrets at rest: the credentials Accord must be able to read back (webhook signing secrets) are
stored encrypted, never in plain text, so a copy of the database (a backup, a replica, a dump
attached to a ticket) does not hand out the keys that sign a firm's webhooks.

Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) with a key ring, so keys can be rotated:

- `ACCORD_ENCRYPTION_KEYS`: comma-separated Fernet keys (`accord secrets new-key` makes one). The
  first encrypts; every one decrypts. To rotate: put a new key first, keep the old ones after it,
  run `accord secrets rotate-key` (re-encrypts every stored secret under the first key), then
  drop the old keys.
- Unset: one key derived (HKDF-SHA256) from `ACCORD_SECRET_KEY`, or from the key kept in
  `<data dir>/secret_key` when that is unset too (the wiring in `accord/serve.py` passes it).

A stored value is `fernet:<token>`. A value that none of the keys opens raises `SecretBoxError`
with a message saying so (the key was changed without rotation), never garbage.

The wiring calls `configure` once at start-up; without it, `current()` reads the environment."""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

if TYPE_CHECKING:
    from sqlalchemy import Connection

ENV_KEYS = "ACCORD_ENCRYPTION_KEYS"
ENV_SECRET = "ACCORD_SECRET_KEY"
PREFIX = "fernet:"
_INFO = b"accord secrets at rest v1"


class SecretBoxError(Exception):
    """A secret cannot be sealed or opened (the message names no secret, safe to log)."""


def new_key() -> str:
    """A fresh key for `ACCORD_ENCRYPTION_KEYS`."""
    return Fernet.generate_key().decode("ascii")


def derive_key(secret_key: str) -> str:
    """The Fernet key derived from the server's secret key (used when no key ring is set)."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret_key.encode("utf-8"))
    return base64.urlsafe_b64encode(raw).decode("ascii")


class Keyring:
    """The keys: the first seals, all open."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise SecretBoxError("no encryption key")
        fernets = []
        for number, key in enumerate(keys, 1):
            try:
                fernets.append(Fernet(key.strip().encode("ascii")))
            except (ValueError, UnicodeEncodeError) as exc:
                raise SecretBoxError(f"{ENV_KEYS}: key {number} is not a Fernet key (32 bytes, url-safe base64; "
                                     f"`accord secrets new-key` makes one)") from exc
        self._ring = MultiFernet(fernets)

    def seal(self, plain: str) -> str:
        return PREFIX + self._ring.encrypt(plain.encode("utf-8")).decode("ascii")

    def unseal(self, stored: str) -> str:
        try:
            return self._ring.decrypt(self._token(stored)).decode("utf-8")
        except InvalidToken:
            raise _undecryptable() from None

    def reseal(self, stored: str) -> str:
        """The same secret encrypted under the first key (a plain, never-sealed value is sealed)."""
        if not is_sealed(stored):
            return self.seal(stored)
        try:
            return PREFIX + self._ring.rotate(self._token(stored)).decode("ascii")
        except InvalidToken:
            raise _undecryptable() from None

    @staticmethod
    def _token(stored: str) -> bytes:
        if not is_sealed(stored):
            raise SecretBoxError("a stored secret is not encrypted (`accord secrets rotate-key` encrypts it)")
        return stored[len(PREFIX):].encode("ascii")


def _undecryptable() -> SecretBoxError:
    return SecretBoxError(f"a stored secret cannot be decrypted with the configured keys ({ENV_KEYS}, or the key "
                          f"derived from {ENV_SECRET}): was the key changed without keeping the old one in "
                          f"{ENV_KEYS}?")


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)


def from_env(env: Mapping[str, str] | None = None, *, secret_key: str | None = None) -> Keyring:
    """`ACCORD_ENCRYPTION_KEYS`, else the key derived from `secret_key` (the caller's server key)
    or `ACCORD_SECRET_KEY`; `SecretBoxError` when there is none."""
    env = os.environ if env is None else env
    listed = [k.strip() for k in env.get(ENV_KEYS, "").split(",") if k.strip()]
    if listed:
        return Keyring(listed)
    base = secret_key or env.get(ENV_SECRET, "")
    if not base:
        raise SecretBoxError(f"no encryption key: set {ENV_KEYS} (or {ENV_SECRET})")
    return Keyring([derive_key(base)])


_configured: Keyring | None = None


def configure(keyring: Keyring | None) -> None:
    """Set the process's key ring (None: read the environment on each use)."""
    global _configured
    _configured = keyring


def current() -> Keyring:
    return _configured if _configured is not None else from_env()


def seal(plain: str) -> str:
    return current().seal(plain)


def unseal(stored: str) -> str:
    return current().unseal(stored)


def rewrite_column(conn: Connection, table: str, column: str, change: str) -> int:
    """For a migration: seal (`change="seal"`) the plain values of `table.column`, or open
    (`"unseal"`) the sealed ones, row by row (keyed by `id`); NULLs and values already in the
    wanted form are left alone, so running it twice changes nothing, and a table with nothing
    to change needs no key. How many rows were rewritten."""
    t = sa.table(table, sa.column("id"), sa.column(column, sa.Text()))
    rows = conn.execute(sa.select(t.c.id, t.c[column]).where(t.c[column].is_not(None)).order_by(t.c.id)).all()
    todo = [(i, v) for i, v in rows if is_sealed(v) == (change == "unseal")]
    if not todo:
        return 0
    ring = current()
    for row_id, value in todo:
        new = ring.seal(value) if change == "seal" else ring.unseal(value)
        conn.execute(sa.update(t).where(t.c.id == row_id).values({column: new}))
    return len(todo)
