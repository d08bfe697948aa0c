"""The Stripe-protocol peers (localstripe + the fake Checkout front) for the module's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from stripe_peers import StripePeers


@pytest.fixture(scope="module")
def peers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StripePeers]:
    with StripePeers(tmp_path_factory.mktemp("stripe")) as running:
        yield running
