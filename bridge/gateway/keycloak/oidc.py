"""Keycloak's words in the OpenID Connect flows of the bridge's own clients (the example
portal, the staff console): where the realm publishes its metadata, and how a client asks
for an application-initiated action."""

from __future__ import annotations

from collections.abc import Mapping

from bridge.domain.accounts import RequiredAction
from bridge.gateway.keycloak.mapping import REQUIRED_ACTIONS


def discovery_url(server_url: str, realm: str) -> str:
    return f"{server_url.rstrip('/')}/realms/{realm}/.well-known/openid-configuration"


def application_initiated(action: RequiredAction) -> dict[str, str]:
    """Extra authorization-request parameters: Keycloak runs `action` (themed) for the
    signed-in user, then comes back to the client."""
    return {"kc_action": REQUIRED_ACTIONS[action]}


def action_status(query: Mapping[str, str]) -> str | None:
    """How the application-initiated action ended, from the callback's query: success,
    cancelled or error (None when the callback is a plain sign-in)."""
    return query.get("kc_action_status")
