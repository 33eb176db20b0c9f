"""Test students: a well-formed INE for a new one, what Keycloak holds about one."""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from bridge.domain.ine import BEA_KEYS


def random_ine() -> str:
    """A well-formed INE-BEA with its check key, unique enough for one test session."""
    digits = f"{secrets.randbelow(10**10):010d}"
    return digits + BEA_KEYS[int(digits) % 23]


def ine_of(student: dict[str, Any]) -> str:
    return str(student["attributes"]["ine"][0])


def attribute(admin: httpx.Client, user_id: str, name: str) -> str | None:
    """An attribute of the account as Keycloak holds it now (its first value), or None."""
    values = (admin.get(f"/users/{user_id}").json().get("attributes") or {}).get(name)
    return values[0] if values else None


def last_link_at(admin: httpx.Client, user_id: str) -> int | None:
    """When Keycloak last sent the account an action link (its admin event, in ms), or
    None: what the console shows, nothing being written on the account for it."""
    events = admin.get(
        "/admin-events",
        params={
            "resourcePath": f"users/{user_id}/execute-actions-email",
            "operationTypes": "ACTION",
            "first": 0,
            "max": 1,
        },
    ).json()
    return int(events[0]["time"]) if events else None
