"""The limits, reserved before acting and given back when the action fails (Keycloak or
SMTP down: nothing consumed), in a counter store every replica shares (flows/counters.py).

Keys name the account by its id (never an identifier or address in clear), the client
address by its network (an IPv6 address by its /64: one host owns the whole prefix).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import ipaddress
from dataclasses import dataclass

from bridge.domain.accounts import Account
from bridge.domain.deadlines import PARIS, seconds_until_end_of_day
from bridge.domain.errors import ServiceUnavailable
from bridge.domain.ratelimits import Limits
from bridge.flows.counters import CounterStore
from bridge.flows.outcomes import Limited

# Daily keys outlive their day a little: the next day's key is another key anyway.
DAY_MARGIN = 3600


@dataclass(frozen=True)
class Reservation:
    keys: tuple[str, ...]
    spaced: tuple[tuple[str, float], ...] = ()


def _day(now: dt.datetime) -> str:
    return now.astimezone(PARIS).date().isoformat()


def _rest_of_day(now: dt.datetime) -> int:
    return seconds_until_end_of_day(now) + DAY_MARGIN


def mails_today_key(account_id: str, now: dt.datetime) -> str:
    return f"mail:day:{account_id}:{_day(now)}"


async def release(store: CounterStore, reservation: Reservation) -> None:
    """Best effort, every unit: a store that fails half-way must not keep the rest."""
    for key in reservation.keys:
        with contextlib.suppress(ServiceUnavailable):
            await store.give_back(key)
    for key, at in reservation.spaced:
        with contextlib.suppress(ServiceUnavailable):
            await store.unspace(key, at)


async def _take_all(
    store: CounterStore, wanted: list[tuple[str, int, int, str]]
) -> Reservation | Limited:
    """Each (key, limit, window, code) in turn; on the first refusal, or the store failing,
    give back what was taken."""
    taken: list[str] = []
    try:
        for key, limit, window, code in wanted:
            wait = await store.take(key, limit, window)
            if wait is not None:
                await release(store, Reservation(tuple(taken)))
                return Limited(code, wait if code == "mail.busy" else None)
            taken.append(key)
    except BaseException:
        await release(store, Reservation(tuple(taken)))
        raise
    return Reservation(tuple(taken))


async def reserve_mail(
    store: CounterStore, account: Account, now: dt.datetime, limits: Limits, requester: str
) -> Reservation | Limited:
    """An action mail to this account, now, asked from `requester` (a client address): the
    interval since the account's last mail (doubling through the day), the requester's
    network's allowance on this account, the account's ceiling, the realm's budget for
    this minute."""
    if seconds_until_end_of_day(now) < 1:
        return Limited("mail.day_over")
    day, minute = _day(now), now.astimezone(dt.UTC).strftime("%Y%m%d%H%M")
    today = mails_today_key(account.id, now)
    # Read apart from the reservation: a race can only shorten one interval by a doubling.
    gap = limits.mail_interval(await store.count(today))
    gap_key, at = f"mail:gap:{account.id}", now.timestamp()
    if gap > 0:
        wait = await store.space(gap_key, at, gap)
        if wait is not None:
            return Limited("mail.too_soon", wait)
    rest = _rest_of_day(now)
    try:
        counted = await _take_all(
            store,
            [
                (
                    f"mail:net:{account.id}:{_digest(network_of(requester))}:{day}",
                    limits.mails_per_network,
                    rest,
                    "mail.network_limit",
                ),
                (today, limits.mails_per_day, rest, "mail.daily_limit"),
                (f"mail:realm:{minute}", limits.mails_per_minute, 61, "mail.busy"),
            ],
        )
    except BaseException:
        if gap > 0:
            await release(store, Reservation((), ((gap_key, at),)))
        raise
    if isinstance(counted, Limited):
        if gap > 0:
            await store.unspace(gap_key, at)
        return counted
    return Reservation(counted.keys, ((gap_key, at),) if gap > 0 else ())


async def reserve_ine_attempt(
    store: CounterStore, account: Account, now: dt.datetime, limits: Limits, requester: str
) -> Reservation | Limited:
    """One INE attempt on this account, taken before comparing (so that parallel guesses
    cannot all pass the check) and given back when the INE was right: within the
    requester's network's allowance for today, and past as many failures on the account,
    one try per doubling interval."""
    day, rest = _day(now), _rest_of_day(now)
    failures = f"ine:fail:{account.id}:{day}"
    mine = await _take_all(
        store,
        [
            (
                f"ine:net:{account.id}:{_digest(network_of(requester))}:{day}",
                limits.ine_failures_per_network,
                rest,
                "ine.locked",
            )
        ],
    )
    if isinstance(mine, Limited):
        return mine
    try:
        # Every try is recorded, so that the first one past the allowance waits too.
        gap = limits.ine_interval(await store.count(failures))
        gap_key, at = f"ine:gap:{account.id}", now.timestamp()
        wait = await store.space(gap_key, at, gap)
        if wait is not None:
            await release(store, mine)
            return Limited("ine.wait", wait)
        # Counted without a ceiling of its own: the doubling interval is the account's.
        await store.take(failures, 2**31, rest)
    except BaseException:
        await release(store, mine)
        raise
    return Reservation((*mine.keys, failures), ((gap_key, at),))


async def reserve_lookup(
    store: CounterStore, typed: str, now: dt.datetime, limits: Limits
) -> Reservation | Limited:
    """Lost password: one lookup of what was typed (an identifier or an INE, known or not),
    this hour."""
    hour = int(now.timestamp()) // 3600
    key = f"lookup:{_digest(typed)}:{hour}"
    return await _take_all(store, [(key, limits.lookups_per_hour, 3600, "lookup.limit")])


def _digest(value: str) -> str:
    """Keys never hold an address, identifier or INE in clear."""
    return hashlib.sha256(value.encode()).hexdigest()[:24]


def network_of(address: str) -> str:
    """The client's network: an IPv4 address itself, an IPv6 address's /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(getattr(ip, "ipv4_mapped", None) or ip)


async def allow_address(
    store: CounterStore, address: str, requests: int, window: int, now: dt.datetime
) -> Limited | None:
    """Form posts per client network, in fixed windows."""
    slot = int(now.timestamp()) // window
    wait = await store.take(f"addr:{_digest(network_of(address))}:{slot}", requests, window)
    return Limited("address", wait) if wait is not None else None
