"""Signed, expiring links for one participant: the token names the participant and is signed with
the app secret (itsdangerous); it expires with the envelope (or after `max_age`). A token for one
participant never opens another's page, and a forged or edited token is rejected."""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


class LinkError(Exception):
    def __init__(self, expired: bool) -> None:
        super().__init__("the link has expired" if expired else "the link is not valid")
        self.expired = expired


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="accord.signing.participant")


def make_token(secret: str, participant_id: str) -> str:
    return _serializer(secret).dumps({"p": participant_id})


def read_token(secret: str, token: str, max_age: int) -> str:
    """The participant id in `token`, or `LinkError`."""
    try:
        data = _serializer(secret).loads(token, max_age=max_age)
    except SignatureExpired:
        raise LinkError(expired=True) from None
    except BadSignature:
        raise LinkError(expired=False) from None
    if not isinstance(data, dict) or not isinstance(data.get("p"), str):
        raise LinkError(expired=False)
    return str(data["p"])
