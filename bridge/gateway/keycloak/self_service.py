"""The student's own credential: the portal's access token, used against Keycloak's Account
REST API (`/realms/{realm}/account/...`). Keycloak itself decides what the holder may read
and end: the token's `account` audience and its `view-profile` / `manage-account` roles
(the realm's default roles), and the user profile's `user` view permissions (no INE, no
admin-only bookkeeping). No service account, no admin right: a student's token reaches
that student's account and nobody else's (docs/account-page.md).

Also the portal client's refresh of that token and nothing more."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from keycloak import KeycloakOpenID
from keycloak.connection import ConnectionManager

from bridge.domain.errors import NotAllowed, ServiceUnavailable
from bridge.gateway.keycloak.errors import domain_errors
from bridge.gateway.keycloak.mapping import FIELDS

TIMEOUT = 10.0
# What Keycloak's user-agent parser says of what it did not recognise: left out.
UNKNOWN = "Unknown"


@dataclass(frozen=True)
class OwnProfile:
    """What the student may see of their own account (the user profile's `user` view)."""

    username: str
    first_name: str
    last_name: str
    rescue_email: str | None
    valid_until: dt.date | None


@dataclass(frozen=True)
class OpenSession:
    session_id: str
    ip_address: str
    started: dt.datetime
    last_access: dt.datetime
    browser: str
    device: str
    current: bool


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_at: float  # POSIX seconds


def _when(value: Any) -> dt.datetime:
    """Keycloak's session times are epoch seconds (milliseconds on some versions)."""
    number = float(value or 0)
    if number > 1e11:
        number /= 1000
    return dt.datetime.fromtimestamp(number, tz=dt.UTC)


def _date(raw: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(raw)) if raw else None
    except ValueError:
        return None


def _first(attributes: dict[str, Any], key: str) -> Any:
    values = attributes.get(key) or []
    return values[0] if isinstance(values, list) and values else None


class SelfService:
    """One instance per app (the portal client's settings); each call takes the student's
    access token."""

    def __init__(
        self, server_url: str, realm: str, client_id: str, client_secret: str | None
    ) -> None:
        self._account_url = f"{server_url.rstrip('/')}/realms/{realm}/account"
        # python-keycloak's connection pool, with each call's own Authorization header
        # (its shared headers would mix up two students' tokens under concurrency).
        self._connection = ConnectionManager(base_url=server_url, timeout=int(TIMEOUT))
        self._openid = KeycloakOpenID(
            server_url=server_url,
            realm_name=realm,
            client_id=client_id,
            client_secret_key=client_secret,
            timeout=int(TIMEOUT),
        )

    async def _call(
        self, method: str, path: str, token: str, params: dict[str, str] | None = None
    ) -> Any:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        try:
            answer = await self._connection.async_s.request(
                method, f"{self._account_url}{path}", headers=headers, params=params
            )
        except Exception as error:  # the client's transport errors, whatever their kind
            raise ServiceUnavailable("Keycloak's Account API unreachable") from error
        if answer.status_code in (401, 403):
            # An expired or revoked token, or one without the account audience and roles.
            raise NotAllowed(f"the Account API answered {answer.status_code}")
        if answer.status_code >= 400:
            raise ServiceUnavailable(f"the Account API answered {answer.status_code}")
        return answer.json() if answer.content else None

    async def profile(self, token: str) -> OwnProfile:
        rep = await self._call("GET", "/", token, {"userProfileMetadata": "false"})
        attributes = rep.get("attributes") or {}
        return OwnProfile(
            username=str(rep.get("username") or ""),
            first_name=str(rep.get("firstName") or ""),
            last_name=str(rep.get("lastName") or ""),
            rescue_email=rep.get(FIELDS["rescue_email"].key) or None,
            valid_until=_date(_first(attributes, FIELDS["valid_until"].key)),
        )

    async def password_changed_at(self, token: str) -> dt.datetime | None:
        """When the current password was set: its credential's creation date."""
        kinds = await self._call("GET", "/credentials", token, {"type": "password"})
        dates = [
            int((meta.get("credential") or {}).get("createdDate") or 0)
            for kind in kinds or []
            if kind.get("type") == "password"
            for meta in kind.get("userCredentialMetadatas") or []
        ]
        dates = [d for d in dates if d]
        return dt.datetime.fromtimestamp(max(dates) / 1000, tz=dt.UTC) if dates else None

    async def sessions(self, token: str) -> list[OpenSession]:
        """The sessions open, with the device and browser Keycloak recognised."""
        return sessions_of(await self._call("GET", "/sessions/devices", token))

    async def sign_out_everywhere(self, token: str) -> None:
        """Every session of the student ends, the one this token belongs to included."""
        await self._call("DELETE", "/sessions", token, {"current": "true"})

    async def refresh(self, refresh_token: str) -> Tokens:
        """A new access token for the same session; NotAllowed once the session is over."""
        try:
            with domain_errors():
                answer: dict[str, Any] = await self._openid.a_refresh_token(refresh_token)
        except ServiceUnavailable:
            raise
        except Exception as error:  # the session ended: sign in again
            raise NotAllowed("the session is over") from error
        return tokens_of(answer, dt.datetime.now(dt.UTC).timestamp())


def tokens_of(answer: dict[str, Any], now: float) -> Tokens:
    """From a token endpoint's answer (Authlib's or python-keycloak's)."""
    expires_in = float(answer.get("expires_in") or 60)
    return Tokens(
        access_token=str(answer.get("access_token") or ""),
        refresh_token=str(answer.get("refresh_token") or ""),
        expires_at=float(answer.get("expires_at") or now + expires_in),
    )


def sessions_of(devices: list[dict[str, Any]] | None) -> list[OpenSession]:
    """`/account/sessions/devices`' answer, flattened: this session first, then the most
    recently used."""
    found = []
    for device in devices or []:
        system = " ".join(
            str(part)
            for part in (device.get("os"), device.get("osVersion"))
            if part and part != UNKNOWN
        )
        for session in device.get("sessions") or []:
            found.append(
                OpenSession(
                    session_id=str(session.get("id") or ""),
                    ip_address=str(session.get("ipAddress") or device.get("ipAddress") or ""),
                    started=_when(session.get("started")),
                    last_access=_when(session.get("lastAccess")),
                    browser=str(session.get("browser") or device.get("browser") or ""),
                    device=system or str(device.get("device") or ""),
                    current=bool(session.get("current")),
                )
            )
    return sorted(found, key=lambda s: (not s.current, -s.last_access.timestamp()))
