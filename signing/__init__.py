"""Envelopes, routing, identity and PAdES signing. Lands with the signing ceremony issue."""
