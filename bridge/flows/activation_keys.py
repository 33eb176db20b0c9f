"""Issue an activation key (seed 004): a printed one-time secret, set as a temporary
password; its first sign-in asks for a new password and shows the rescue address for
checking. One implementation for the console, the `activation-keys` job and provisioning."""

from __future__ import annotations

from typing import Protocol

from bridge.domain.accounts import Account, RequiredAction
from bridge.domain.activation_keys import generate_activation_key

# What the first sign-in with a key asks, before anything else.
KEY_ACTIONS = (RequiredAction.SET_PASSWORD, RequiredAction.CHECK_RESCUE_EMAIL)


class KeySetter(Protocol):
    async def set_activation_key(
        self, account: Account, key: str, actions: tuple[RequiredAction, ...]
    ) -> None: ...


def new_activation_key() -> str:
    """For an account about to be created (provisioning sets it in the same write)."""
    return generate_activation_key()


async def issue_activation_key(setter: KeySetter, account: Account) -> str:
    """The key, once the identity provider holds it: shown or printed once, kept nowhere."""
    key = new_activation_key()
    await setter.set_activation_key(account, key, KEY_ACTIONS)
    return key
