"""The proof of work some form posts need (ALTCHA, PoW v2; docs/security.md, "Proof of
work"): the challenge the widget fetches from `GET /challenge`, and the check of the solution
it posts in the field `altcha`: signed by us, not expired, and used once across replicas.

Deterministic mode: the server draws the counter the browser must reach (5,000 to 10,000
PBKDF2 derivations of `challenge_cost` iterations each), derives that key once and signs it,
so that checking a solution is two HMACs, whatever the cost. Keys: derived from
UM_SESSION_SECRET (every replica has it) with their own labels, never the secret itself.
Expiry is the wall clock's (the library compares it with `time.time()`), not the app's.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

import altcha
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bridge.flows.counters import CounterStore
from bridge.i18n import N_, gettext
from bridge.web.templating import render

ALGORITHM = "PBKDF2/SHA-256"
LIFETIME = 600  # seconds a challenge can be solved and used in
COUNTERS = (5_000, 10_000)  # the attempts a browser makes: drawn in [5,000, 10,000)
FIELD = "altcha"
MAX_PAYLOAD = 4096  # characters; a real payload is under 1,000
SPENT_PREFIX = "pow:"

REFUSALS = {
    "challenge.missing": N_(
        "De nombreuses demandes viennent en ce moment de votre réseau (celui de votre "
        "campus, par exemple) : une courte vérification automatique est nécessaire. "
        "Revenez au formulaire, cochez la case de vérification et attendez qu'elle soit "
        "validée, puis envoyez le formulaire à nouveau. Rien n'a été envoyé ni modifié."
    ),
    "challenge.refused": N_(
        "La vérification a expiré ou a déjà servi. Revenez au formulaire, cochez à nouveau "
        "la case de vérification, puis envoyez le formulaire. Rien n'a été envoyé ni modifié."
    ),
}


@dataclass(frozen=True)
class ChallengeKeys:
    """Sign the challenge's parameters, and the key the browser must find."""

    parameters: bytes
    derived_key: bytes

    @classmethod
    def from_secret(cls, session_secret: str) -> ChallengeKeys:
        secret = session_secret.encode()
        return cls(
            parameters=hmac.new(secret, b"altcha-challenge-v1", hashlib.sha256).digest(),
            derived_key=hmac.new(secret, b"altcha-key-v1", hashlib.sha256).digest(),
        )


def new_challenge(keys: ChallengeKeys, cost: int, now: float | None = None) -> dict[str, Any]:
    """A fresh challenge, as the widget reads it (JSON): expires LIFETIME seconds after
    `now` (POSIX seconds, the wall clock by default)."""
    issued = time.time() if now is None else now
    challenge = altcha.create_challenge(
        ALGORITHM,
        cost,
        counter=COUNTERS[0] + secrets.randbelow(COUNTERS[1] - COUNTERS[0]),
        expires_at=int(issued) + LIFETIME,
        hmac_secret=keys.parameters,
        hmac_key_secret=keys.derived_key,
    )
    body: dict[str, Any] = challenge.to_dict()
    return body


def verified(payload: str, keys: ChallengeKeys) -> str | None:
    """The signature of the challenge `payload` solves, if it is ours, unexpired and
    solved; None for anything else (missing, malformed, tampered, wrong key, expired)."""
    if not payload or len(payload) > MAX_PAYLOAD:
        return None
    try:
        parsed = altcha.Payload.from_base64(payload)
        result = altcha.verify_solution(parsed, keys.parameters, hmac_key_secret=keys.derived_key)
        signature = parsed.challenge.signature
    except Exception:  # hostile input: any shape of JSON, or none; refused, never a 500
        return None
    return signature if result.verified and isinstance(signature, str) else None


async def spend(payload: str, keys: ChallengeKeys, store: CounterStore) -> bool:
    """True once per solved challenge, across replicas: its signature is taken in the
    shared counters, for longer than the challenge lives."""
    signature = verified(payload, keys)
    if signature is None:
        return False
    key = SPENT_PREFIX + hashlib.sha256(signature.encode()).hexdigest()[:32]
    return await store.take(key, 1, LIFETIME + 60) is None


def refusal(request: Request, code: str, back_url: str) -> Response:
    """429: this post needs a solved challenge; nothing was done."""
    return render(
        request,
        "challenge_required.html",
        {"message": gettext(REFUSALS[code]), "code": code, "back_url": back_url},
        status_code=429,
    )


async def challenge(request: Request) -> Response:
    """GET /challenge: what the widget solves. Never cached: each is good once."""
    settings = request.app.state.settings
    keys = ChallengeKeys.from_secret(settings.session_secret)
    return JSONResponse(
        new_challenge(keys, settings.challenge_cost), headers={"Cache-Control": "no-store"}
    )
