"""Ids are handed to the command line (`accord envelope show ID`), so none may look like an option."""

from __future__ import annotations

import secrets

import pytest

from store import models


def test_ids_never_start_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = iter(["-starts-with-a-dash", "-another", "plain_token"])
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n: next(tokens))
    assert models.new_session_id() == "plain_token"
