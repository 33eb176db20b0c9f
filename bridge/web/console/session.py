"""The staff console's session: the staff member's own tokens, encrypted into a cookie of
their own (the bridge keeps no server-side state, and the tokens do not fit beside the
rest of the signed session cookie).

Fernet (AES-128-CBC + HMAC-SHA256) with a key derived from the console's own secret
(`UM_CONSOLE_SESSION_SECRET`, not the signed session's): the browser holds the tokens but
can neither read nor alter them.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import asdict, dataclass

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

COOKIE = "um_console"
MAX_AGE = 8 * 3600  # a working day: after that, log in again whatever the tokens say


@dataclass(frozen=True)
class ConsoleSession:
    username: str
    user_id: str
    access_token: str
    access_expires_at: float
    refresh_token: str
    started_at: float

    def access_seconds_left(self, now: float | None = None) -> int:
        return int(self.access_expires_at - (time.time() if now is None else now))


class SessionBox:
    def __init__(self, secret: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"um-console-session"
        ).derive(secret.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, session: ConsoleSession) -> str:
        return self._fernet.encrypt(json.dumps(asdict(session)).encode()).decode()

    def open(self, sealed: str | None) -> ConsoleSession | None:
        """None for a missing, forged, altered or day-old cookie."""
        if not sealed:
            return None
        try:
            data = json.loads(self._fernet.decrypt(sealed.encode(), ttl=MAX_AGE))
            return ConsoleSession(**data)
        except (InvalidToken, ValueError, TypeError):
            return None
