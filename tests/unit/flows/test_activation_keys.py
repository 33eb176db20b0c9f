"""bridge.flows.activation_keys: the key the identity provider holds is the one returned,
with the actions its first sign-in asks, added to what was already pending."""

from __future__ import annotations

import re

import pytest

from bridge.domain.accounts import Account, RequiredAction
from bridge.flows.activation_keys import KEY_ACTIONS, issue_activation_key
from tests.helpers.memory_gateway import MemoryGateway

pytestmark = pytest.mark.anyio


async def test_issued_key_is_set_with_its_actions() -> None:
    gateway = MemoryGateway()
    account = gateway.add(
        Account("u1", "mpetit001", True, required_actions=(RequiredAction.ACCEPT_CHARTER,))
    )
    key = await issue_activation_key(gateway, account)
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", key)
    assert gateway.keys == {"u1": key}
    assert gateway.accounts["u1"].required_actions == (
        RequiredAction.ACCEPT_CHARTER,
        *KEY_ACTIONS,
    )
    assert await issue_activation_key(gateway, account) != key  # a fresh one each time
