"""DNS rebinding: every outbound call resolves its host once, checks the addresses and connects to
exactly the one it checked (integrations/http.py), with real sockets on loopback. A resolver that
answers differently on the second lookup (patched in as `socket.getaddrinfo`, which the HTTP client
would use too) never gets that second lookup; https keeps the host name for SNI and for the
certificate check against a test CA."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from pinning_peer import Peer, RebindingResolver, TestCA
from sqlalchemy import Engine
from sqlmodel import Session as DB
from webhook_receiver import Receiver

from integrations import http, targets, webhooks

PUBLIC = "2001:4860:4860::8888"  # a global address: the check lets it through (nothing answers from here)


def test_a_rebinding_resolver_cannot_reach_the_private_address(monkeypatch: pytest.MonkeyPatch) -> None:
    private = Peer("127.0.0.1").start()
    try:
        resolver = RebindingResolver("hooks.rebind.example", first=PUBLIC, then="127.0.0.1")
        monkeypatch.setattr(socket, "getaddrinfo", resolver)
        result = http.call("POST", f"http://hooks.rebind.example:{private.port}/hooks", allow_private=False,
                           content=b"{}", timeout=2)
        assert not result.ok and result.error  # the pinned public address does not answer
        assert private.requests == []  # … and the private one was never reached
        assert resolver.lookups == 1  # the one lookup that was checked, no second one by the client

        # The guard itself still refuses the name when its (first) answer is private.
        refused_by = RebindingResolver("hooks.private.example", first="127.0.0.1", then=PUBLIC)
        monkeypatch.setattr(socket, "getaddrinfo", refused_by)
        refused = http.call("POST", f"http://hooks.private.example:{private.port}/hooks", allow_private=False)
        assert refused.error is not None and refused.error.startswith("refused:") and private.requests == []
    finally:
        private.stop()


def test_the_connection_goes_to_the_address_that_was_checked() -> None:
    # Two servers on the same port, on two loopback addresses: the resolver's first answer and its second.
    second = Peer("127.0.0.2").start()
    first = Peer("127.0.0.1", port=second.port).start()
    try:
        resolver = RebindingResolver("hooks.pinned.example", first="127.0.0.1", then="127.0.0.2")
        url = f"http://hooks.pinned.example:{first.port}/hooks?x=1"
        result = http.call("POST", url, allow_private=True, content=b'{"a":1}', resolver=resolver)
        assert result.ok, result.error
        assert resolver.lookups == 1
        host = f"hooks.pinned.example:{first.port}"
        assert first.requests == [{"method": "POST", "path": "/hooks?x=1", "host": host}]
        assert second.requests == []
    finally:
        first.stop()
        second.stop()


def test_https_is_pinned_and_the_certificate_is_checked_for_the_host_name(tmp_path: Path) -> None:
    ca = TestCA(tmp_path)
    good = Peer("127.0.0.1", tls=ca.server_context("hooks.accord-test.example")).start()
    wrong = Peer("127.0.0.1", tls=ca.server_context("someone-else.example")).start()
    try:
        resolver = RebindingResolver("hooks.accord-test.example", first="127.0.0.1", then="127.0.0.2")
        result = http.call("GET", f"https://hooks.accord-test.example:{good.port}/status", allow_private=True,
                           verify=ca.client_context(), resolver=resolver)
        assert result.ok, result.error
        assert result.json == {"ok": True} and resolver.lookups == 1
        assert good.server_names == ["hooks.accord-test.example"]  # SNI: the name, not the IP
        assert good.requests[0]["host"] == f"hooks.accord-test.example:{good.port}"

        # The same call to a server whose certificate names another host: refused, nothing sent.
        resolver = RebindingResolver("hooks.accord-test.example", first="127.0.0.1", then="127.0.0.1")
        mismatch = http.call("GET", f"https://hooks.accord-test.example:{wrong.port}/status", allow_private=True,
                             verify=ca.client_context(), resolver=resolver)
        assert not mismatch.ok and mismatch.error is not None and "certificate" in mismatch.error
        assert wrong.requests == []
        # And a CA the client does not trust (the default: public roots only) is refused too.
        resolver = RebindingResolver("hooks.accord-test.example", first="127.0.0.1", then="127.0.0.1")
        untrusted = http.call("GET", f"https://hooks.accord-test.example:{good.port}/status", allow_private=True,
                              resolver=resolver)
        assert not untrusted.ok and untrusted.error is not None and "certificate" in untrusted.error
        assert len(good.requests) == 1
    finally:
        good.stop()
        wrong.stop()


def test_a_webhook_delivery_is_pinned_too(db_engine: Engine, firm_id: int, monkeypatch: pytest.MonkeyPatch) -> None:
    receiver = Receiver().start()  # on 127.0.0.1: what the rebinding answer points at
    url = f"http://hooks.firm.example:{receiver.port}/hooks"
    try:
        with DB(db_engine) as db:  # the firm does not allow private targets
            monkeypatch.setattr(socket, "getaddrinfo", RebindingResolver("hooks.firm.example", PUBLIC, PUBLIC))
            ep, receiver.secret = webhooks.add(db, firm_id, url)  # checked: a public address
            resolver = RebindingResolver("hooks.firm.example", first=PUBLIC, then="127.0.0.1")
            monkeypatch.setattr(socket, "getaddrinfo", resolver)
            outcome = webhooks.send_test(db, firm_id, ep.id or 0)
        assert not outcome.ok and resolver.lookups == 1
        assert receiver.arrived == 0 and receiver.accepted == []
        assert outcome.request["url"] == url  # the log keeps the name
    finally:
        receiver.stop()


def test_resolve_checks_every_address_once() -> None:
    calls: list[str] = []

    def two_answers(host: str, port: int, *args: object, **kwargs: object) -> list[tuple[object, ...]]:
        calls.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.8.8", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port))]

    with pytest.raises(targets.TargetRefused, match="10.0.0.7"):
        targets.resolve("https://mixed.example/x", resolver=two_answers)
    pinned = targets.resolve("https://mixed.example/x", allow_private=True, resolver=two_answers)
    assert pinned == targets.Pinned("mixed.example", 443, ("8.8.8.8", "10.0.0.7")) and calls == ["mixed.example"] * 2
    with pytest.raises(targets.TargetRefused, match="port"):
        targets.resolve("http://mixed.example:99999/", resolver=two_answers)
