"""The generic REST/JSON connector: GET a record, PATCH (or PUT) it, POST an action, with a
bearer token or OAuth2 client credentials, and a field mapping between the names the interview
uses and the record's own.

    type: rest
    base_url: https://crm.example.com/api
    record_path: /records/{id}          # default
    update_method: PATCH                # or PUT
    auth: {bearer_env: ACCORD_CRM_TOKEN}
      # or {oauth2: {token_url: …, client_id_env: …, client_secret_env: …, scope: …}}
    fields: {Email: email_address}      # name used in the interview -> the record's field
    actions: {create_account: {method: POST, path: /accounts}}
    allow_private: false                # true only for a system on the operator's own network

Every call goes through `integrations.http` (SSRF guard, 10 s timeout, no redirects)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any
from urllib.parse import quote

from integrations import http
from integrations.connectors import ConnectorError, env_value


class RestConnector:
    def __init__(self, config: dict[str, Any]) -> None:
        if not config.get("base_url"):
            raise ConnectorError("a connector needs base_url")
        self.config = config
        self.base_url = str(config["base_url"]).rstrip("/")
        self.fields: dict[str, str] = {str(k): str(v) for k, v in (config.get("fields") or {}).items()}
        self.allow_private = bool(config.get("allow_private", False))
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()

    # -- paths (overridden by the Salesforce connector) ------------------------------------

    def record_url(self, record_id: str) -> str:
        path = str(self.config.get("record_path", "/records/{id}"))
        return self.base_url + path.replace("{id}", quote(str(record_id), safe=""))

    def update_method(self) -> str:
        return str(self.config.get("update_method", "PATCH")).upper()

    def token_url(self, oauth: dict[str, Any]) -> str:
        return str(oauth.get("token_url") or "")

    # -- auth -------------------------------------------------------------------------------

    def _auth_header(self, fresh: bool = False) -> dict[str, str]:
        auth = self.config.get("auth") or {}
        if "bearer_env" in auth:
            return {"Authorization": f"Bearer {env_value(auth, 'bearer_env')}"}
        oauth = auth.get("oauth2")
        if not oauth:
            return {}
        with self._lock:
            if fresh or self._token is None or self._token[1] <= time.monotonic():
                self._token = self._fetch_token(oauth)
            return {"Authorization": f"Bearer {self._token[0]}"}

    def _fetch_token(self, oauth: dict[str, Any]) -> tuple[str, float]:
        url = self.token_url(oauth)
        if not url:
            raise ConnectorError("oauth2 needs token_url")
        form = {"grant_type": "client_credentials", "client_id": env_value(oauth, "client_id_env"),
                "client_secret": env_value(oauth, "client_secret_env")}
        if oauth.get("scope"):
            form["scope"] = str(oauth["scope"])
        result = http.call("POST", url, allow_private=self.allow_private, data=form)
        if not result.ok or not isinstance(result.json, dict) or "access_token" not in result.json:
            raise ConnectorError(f"the OAuth2 token endpoint refused: {result.error or 'no access_token'}")
        lifetime = float(result.json.get("expires_in") or 3600)
        return str(result.json["access_token"]), time.monotonic() + max(lifetime - 30, 0)

    def _call(self, method: str, url: str, body: dict[str, Any] | None = None) -> http.Result:
        content = json.dumps(body, default=str).encode() if body is not None else None
        for fresh in (False, True):  # a token revoked early: fetch a new one once
            headers = {"Accept": "application/json", **self._auth_header(fresh)}
            if content is not None:
                headers["Content-Type"] = "application/json"
            result = http.call(method, url, allow_private=self.allow_private, headers=headers, content=content)
            if result.status != 401 or "oauth2" not in (self.config.get("auth") or {}):
                return result
        return result

    # -- the protocol -------------------------------------------------------------------------

    def fetch(self, record_id: str) -> dict[str, Any]:
        result = self._call("GET", self.record_url(record_id))
        if result.status == 404:
            raise ConnectorError(f"record {record_id} not found")
        if not result.ok or not isinstance(result.json, dict):
            raise ConnectorError(f"fetching the record failed: {result.error or 'not JSON'}")
        back = {actual: name for name, actual in self.fields.items()}
        return {back.get(str(k), str(k)): v for k, v in result.json.items()}

    def update(self, record_id: str, fields: dict[str, Any]) -> None:
        body = {self.fields.get(k, k): v for k, v in fields.items()}
        result = self._call(self.update_method(), self.record_url(record_id), body)
        if not result.ok:
            raise ConnectorError(f"updating the record failed: {result.error}: {result.body[:200]}")

    def action(self, name: str, payload: dict[str, Any]) -> dict[str, Any]:
        spec = (self.config.get("actions") or {}).get(name)
        if not spec:
            raise ConnectorError(f"the connector has no action {name!r}")
        result = self._call(str(spec.get("method", "POST")).upper(), self.base_url + str(spec.get("path", "")),
                            payload)
        if not result.ok:
            raise ConnectorError(f"action {name} failed: {result.error}: {result.body[:200]}")
        return result.json if isinstance(result.json, dict) else {}
