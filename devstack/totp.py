"""Time-based one-time codes (RFC 6238, over RFC 4226's HOTP), standard library only: the
dev stack enrols its demo staff member with them and the tests compute the codes Keycloak
asks staff for. The realm's policy (realm/um-realm.json, `otpPolicy*`): HMAC-SHA1, 6
digits, 30-second steps."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any
from urllib.parse import quote, urlencode

DIGITS = 6
PERIOD = 30
ALGORITHM = "HmacSHA1"


def new_secret() -> str:
    """20 random bytes (160 bits, RFC 4226's recommended length) in unpadded base32, as
    authenticator apps take it."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def secret_bytes(secret: str) -> bytes:
    """The key of a base32 secret as apps accept it: any case, spaces, no padding."""
    cleaned = "".join(secret.split()).upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def hotp(key: bytes, counter: int, digits: int = DIGITS) -> str:
    """RFC 4226: HMAC-SHA1 of the counter, dynamically truncated."""
    mac = hmac.new(key, counter.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def counter_at(at: float | None = None, period: int = PERIOD) -> int:
    """The RFC 6238 time step of `at` (seconds since the epoch; now by default)."""
    return int((time.time() if at is None else at) // period)


def totp(secret: str, at: float | None = None, digits: int = DIGITS, period: int = PERIOD) -> str:
    """The code an authenticator app shows at `at` (now by default)."""
    return hotp(secret_bytes(secret), counter_at(at, period), digits)


def otpauth_uri(secret: str, account: str, issuer: str) -> str:
    """The key-URI format authenticator apps read (from a QR code or pasted): the label is
    `issuer:account`, the parameters the realm's policy."""
    label = quote(f"{issuer}:{account}")
    query = urlencode(
        {
            "secret": secret,
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": DIGITS,
            "period": PERIOD,
        },
        quote_via=quote,
    )
    return f"otpauth://totp/{label}?{query}"


def keycloak_credential(secret: str, label: str) -> dict[str, Any]:
    """An OTP credential in the admin API's form, which `POST /users` and `PUT /users/{id}`
    accept in `credentials` (measured on 26.5.6): Keycloak decodes the base32 secret itself
    (`secretEncoding`), so the app and Keycloak share the very key above."""
    return {
        "type": "otp",
        "userLabel": label,
        "secretData": json.dumps({"value": secret}),
        "credentialData": json.dumps(
            {
                "subType": "totp",
                "digits": DIGITS,
                "counter": 0,
                "period": PERIOD,
                "algorithm": ALGORITHM,
                "secretEncoding": "BASE32",
            }
        ),
    }
