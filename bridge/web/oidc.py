"""The realm's OpenID Connect clients of the bridge (the example portal, the staff console)."""

from __future__ import annotations

from authlib.integrations.starlette_client import OAuth

from bridge.gateway.keycloak.oidc import discovery_url
from bridge.settings import Settings


def oidc_client(
    settings: Settings, name: str, client_id: str, secret: str | None, scope: str
) -> OAuth:
    """An Authlib OpenID Connect client of the realm: authorization code + PKCE (S256)."""
    oauth = OAuth()
    oauth.register(
        name,
        client_id=client_id,
        client_secret=secret,
        # Fetched on the back channel: with Keycloak's hostname-backchannel-dynamic, the
        # token and key endpoints it lists are internal, the authorization endpoint public.
        server_metadata_url=discovery_url(settings.keycloak_backchannel_url, settings.realm),
        client_kwargs={"scope": scope, "code_challenge_method": "S256"},
    )
    return oauth
