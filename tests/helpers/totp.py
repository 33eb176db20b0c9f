"""One-time codes for the staff's second factor, computed as an authenticator app does
(RFC 6238, standard library: devstack.totp), and a code Keycloak will still take.

The realm refuses a code already used on the credential (`otpPolicyCodeReusable` false)
and takes the codes of the steps just before and after the current one (look-around
window 1). A test that signs the same staff member in twice within 30 seconds would be
refused with the same code: `fresh_code` hands out each step's code once, the next step's
when the current one is spent, and waits for a new step only when both are."""

from __future__ import annotations

import threading
import time

from devstack.totp import PERIOD, counter_at, hotp, keycloak_credential, new_secret, secret_bytes

__all__ = ["fresh_code", "keycloak_credential", "new_secret", "totp_at_step"]

_used: dict[str, set[int]] = {}
_lock = threading.Lock()


def totp_at_step(secret: str, step: int) -> str:
    return hotp(secret_bytes(secret), step)


def fresh_code(secret: str) -> str:
    """A code for `secret` that no earlier call of this session has handed out."""
    while True:
        with _lock:
            used = _used.setdefault(secret, set())
            now = counter_at()
            for step in (now, now + 1):
                if step not in used:
                    used.add(step)
                    return totp_at_step(secret, step)
        time.sleep(PERIOD - time.time() % PERIOD + 0.1)
