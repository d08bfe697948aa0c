"""The connector protocol (a system of record: fetch a record, update it, run an action) and the
configuration file that names a firm's connectors and provisioning hooks.

The file (`ACCORD_INTEGRATIONS_FILE`, default `<data dir>/integrations.yml`) holds no secret:
tokens and client secrets are read from the environment variables it names (`*_env` keys).

    firms:
      demo:
        connectors:
          crm:
            type: salesforce            # or: rest
            base_url: https://acme.my.example.com
            object: Opportunity
            auth: {oauth2: {client_id_env: ACCORD_CRM_CLIENT_ID, client_secret_env: ACCORD_CRM_SECRET}}
            actions: {create_account: {method: POST, path: /services/apexrest/accounts}}
        hooks:                          # `webhook: NAME` in an interview's `on completion`
          loan_servicing: {url: https://servicing.example.com/hooks/accord, secret_env: ACCORD_SERVICING_SECRET}
          provision: {connector: crm, action: create_account}
        auto_send: [po_order]           # send these interviews' envelopes when the applicant finishes

See docs/integrations.md for every key."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

log = logging.getLogger("accord.integrations.connectors")


class ConnectorError(Exception):
    """A connector call failed or is misconfigured (the message names no secret)."""


class Connector(Protocol):
    def fetch(self, record_id: str) -> dict[str, Any]: ...

    def update(self, record_id: str, fields: dict[str, Any]) -> None: ...

    def action(self, name: str, payload: dict[str, Any]) -> dict[str, Any]: ...


def env_value(config: dict[str, Any], key: str, env: dict[str, str] | None = None) -> str:
    """The secret named by `config[key]` (an environment variable name)."""
    name = config.get(key)
    if not name:
        raise ConnectorError(f"{key} is not set in the integrations file")
    value = (env if env is not None else os.environ).get(str(name), "")
    if not value:
        raise ConnectorError(f"the environment variable {name} is not set")
    return value


@dataclass
class FirmIntegrations:
    connectors: dict[str, Connector] = field(default_factory=dict)
    hooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Interviews whose envelope is sent as soon as the applicant finishes (no agent in between).
    auto_send: list[str] = field(default_factory=list)


@dataclass
class Registry:
    """Every firm's connectors and hooks, by firm slug."""

    firms: dict[str, FirmIntegrations] = field(default_factory=dict)

    def for_firm(self, slug: str) -> FirmIntegrations:
        return self.firms.get(slug, FirmIntegrations())


def build(config: dict[str, Any]) -> Connector:
    from integrations.rest import RestConnector
    from integrations.salesforce import SalesforceConnector

    kind = config.get("type", "rest")
    if kind == "rest":
        return RestConnector(config)
    if kind == "salesforce":
        return SalesforceConnector(config)
    raise ConnectorError(f"unknown connector type {kind!r} (rest, salesforce)")


def load(path: Path | None) -> Registry:
    """The registry from the YAML file (an empty one when there is no file)."""
    if path is None or not path.is_file():
        return Registry()
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    registry = Registry()
    for slug, firm in (data.get("firms") or {}).items():
        connectors = {str(name): build(dict(c)) for name, c in (firm.get("connectors") or {}).items()}
        hooks = {str(name): dict(h) for name, h in (firm.get("hooks") or {}).items()}
        auto_send = [str(n) for n in (firm.get("auto_send") or [])]
        registry.firms[str(slug)] = FirmIntegrations(connectors, hooks, auto_send)
    return registry


class FileRegistry(Registry):
    """The registry of a file that is read again when it changes (or appears), so a firm can add
    a missing connector or hook while the worker runs and then retry the action that needed it.
    A broken file stops the start (as `load` does); a change that breaks it later keeps the last
    good configuration and is logged once, so a typo does not stop deliveries already working."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._refresh(first=True)

    def _refresh(self, first: bool = False) -> None:
        try:
            stat = self.path.stat()
            stamp: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            stamp = None
        if stamp == self._stamp and not first:
            return
        try:
            self.firms = load(self.path).firms
        except (OSError, ValueError, TypeError, AttributeError, yaml.YAMLError, ConnectorError) as exc:
            if first:
                raise
            log.error("the integrations file was not reloaded (%s); the last good one stays in use",
                      type(exc).__name__)
        self._stamp = stamp

    def for_firm(self, slug: str) -> FirmIntegrations:
        self._refresh()
        return super().for_firm(slug)
