"""A Salesforce-style connector on the REST one: records are sObjects at
`/services/data/v{api_version}/sobjects/{object}/{id}` (GET to read, PATCH to update, 204 back),
tokens from the OAuth2 token endpoint `/services/oauth2/token` (client credentials flow) unless
`auth.oauth2.token_url` says otherwise.

    type: salesforce
    base_url: https://acme.my.salesforce.example
    api_version: "59.0"
    object: Opportunity
    auth: {oauth2: {client_id_env: ACCORD_SF_CLIENT_ID, client_secret_env: ACCORD_SF_CLIENT_SECRET}}
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from integrations.rest import RestConnector


class SalesforceConnector(RestConnector):
    def record_url(self, record_id: str) -> str:
        version = str(self.config.get("api_version", "59.0"))
        obj = str(self.config.get("object", "Account"))
        return f"{self.base_url}/services/data/v{version}/sobjects/{quote(obj)}/{quote(str(record_id), safe='')}"

    def update_method(self) -> str:
        return "PATCH"

    def token_url(self, oauth: dict[str, Any]) -> str:
        return str(oauth.get("token_url") or f"{self.base_url}/services/oauth2/token")

    def fetch(self, record_id: str) -> dict[str, Any]:
        record = super().fetch(record_id)
        record.pop("attributes", None)  # Salesforce's type/url envelope, not a field
        return record
