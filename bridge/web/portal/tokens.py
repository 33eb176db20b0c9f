"""The student's own tokens for the account page, sealed into a cookie of their own: the
signed session cookie is readable by its holder and has no room for them. Fernet with a
key derived from the session secret under a name of its own (not the console's): the
browser carries the tokens but can neither read nor alter them. The bridge keeps no
server-side state."""

from __future__ import annotations

import base64
import json
from dataclasses import asdict

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from starlette.requests import Request
from starlette.responses import Response

from bridge.gateway.keycloak.self_service import Tokens
from bridge.web.requests import settings_of

COOKIE = "um_portal_tokens"
MAX_AGE = 4 * 3600  # the signed session's own lifetime


def sealer(secret: str) -> Fernet:
    """The cookie's cipher, from the session secret (tests seal with it too)."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"um-portal-tokens").derive(
        secret.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def keep(request: Request, response: Response, tokens: Tokens) -> None:
    cipher = sealer(settings_of(request).session_secret)
    sealed = cipher.encrypt(json.dumps(asdict(tokens)).encode()).decode()
    response.set_cookie(
        COOKIE,
        sealed,
        max_age=MAX_AGE,
        path="/portal",
        httponly=True,
        secure=settings_of(request).https,
        samesite="lax",
    )


def read(request: Request) -> Tokens | None:
    """None for a missing, forged, altered or stale cookie."""
    sealed = request.cookies.get(COOKIE)
    if not sealed:
        return None
    cipher = sealer(settings_of(request).session_secret)
    try:
        data = json.loads(cipher.decrypt(sealed.encode(), ttl=MAX_AGE))
        return Tokens(**data)
    except (InvalidToken, ValueError, TypeError):
        return None


def drop(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/portal")
