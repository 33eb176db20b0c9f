"""When a client network must solve a proof of work before a form post (docs/security.md,
"Proof of work"): from its post number `challenge_after + 1` in the per-address window on.

It reads the counter `allow_address` takes (bridge.flows.limits), never takes one itself: the
same key, `addr:{digest}:{slot}`, so that a page knows before the post whether it needs the
challenge (tests/unit/flows/test_challenge_policy.py checks the two keys stay one).
"""

from __future__ import annotations

import datetime as dt
import hashlib

from bridge.flows.counters import CounterStore
from bridge.flows.limits import network_of


def address_key(address: str, window: int, now: dt.datetime) -> str:
    """The key `allow_address` counts this client network's posts under, now."""
    slot = int(now.timestamp()) // window
    digest = hashlib.sha256(network_of(address).encode()).hexdigest()[:24]
    return f"addr:{digest}:{slot}"


async def proof_needed(
    store: CounterStore,
    address: str,
    window: int,
    challenge_after: int,
    now: dt.datetime,
    *,
    counted: bool,
) -> bool:
    """Whether a post from this network needs a solved challenge: the next one (a page
    about to show its form), or the one just counted by `allow_address` (`counted`)."""
    posts = await store.count(address_key(address, window, now))
    before = posts - 1 if counted else posts
    return before >= challenge_after
