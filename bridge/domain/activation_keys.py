"""Activation keys (seed 004): a printed one-time secret, used as a temporary Keycloak
password for the first login.

Read off paper and typed by hand, so: capitals and digits only, without the look-alikes
0/O, 1/I/L; three groups of four, the dashes making it satisfy the password policy
(two non-alphabetic characters, printable ASCII, ten characters or more). About 59 bits.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def generate_activation_key(randbelow: Callable[[int], int] = secrets.randbelow) -> str:
    groups = ("".join(ALPHABET[randbelow(len(ALPHABET))] for _ in range(4)) for _ in range(3))
    return "-".join(groups)
