"""A change of rescue address asked from the account page: what its verification link
carries, and when that link still applies. Pure: "now" is passed in."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from bridge.domain.deadlines import end_of_day


@dataclass(frozen=True)
class ChangeRequest:
    """What the link to the new address is bound to: the account, the new address, the
    address on file when it was asked ("" for none: a link made before another change
    cannot undo it), its deadline (POSIX seconds, 23:59:59 Europe/Paris that day) and a
    one-time nonce (the shared store holds its digest until the link is used)."""

    account_id: str
    new_address: str
    previous_address: str
    deadline: int
    nonce: str


def change_request(
    account_id: str, new_address: str, previous_address: str | None, nonce: str, now: dt.datetime
) -> ChangeRequest:
    return ChangeRequest(
        account_id=account_id,
        new_address=new_address,
        previous_address=previous_address or "",
        deadline=int(end_of_day(now).timestamp()),
        nonce=nonce,
    )


def nonce_digest(nonce: str) -> str:
    """What the shared store keeps: the link holds the nonce, the store only its digest."""
    return hashlib.sha256(nonce.encode()).hexdigest()


def same_address(a: str | None, b: str | None) -> bool:
    """Keycloak stores addresses lowercased: compared so."""
    return (a or "").strip().lower() == (b or "").strip().lower()


def link_state(change: ChangeRequest, on_file: str | None, now: dt.datetime) -> str:
    """ "open" while the link applies; else why not: "expired" (past its deadline), "used"
    (the new address is already on file: this link, or another way to the same address),
    "superseded" (the address on file is no longer the one the link was asked from)."""
    if now.timestamp() > change.deadline:
        return "expired"
    if same_address(on_file, change.new_address):
        return "used"
    if not same_address(on_file, change.previous_address):
        return "superseded"
    return "open"
