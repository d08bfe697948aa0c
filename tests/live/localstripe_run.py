"""localstripe (a Stripe API peer, GPL-3.0, test-only) as its own process, bound to 127.0.0.1 and
keeping its state in memory: the stock CLI listens on every interface and pickles its store to a
fixed file in the temp dir, which parallel runs would share. Started by `stripe_peers.StripePeers`;
never imported by Accord."""

from __future__ import annotations

import argparse
import logging

import localstripe.resources as resources
from aiohttp import web
from localstripe.server import app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]
    resources.Store.try_load_from_disk = lambda self: None  # type: ignore[method-assign]
    logging.basicConfig(level=logging.WARNING)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
