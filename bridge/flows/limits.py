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
    store: CounterStore, account: Account, now: dt.datetime, limits: Limits
) -> Reservation | Limited:
    """An action mail to this account, now: the day's count, the gap since the last one,
    the realm's budget for this minute."""
    if seconds_until_end_of_day(now) < 1:
        return Limited("mail.day_over")
    minute = now.astimezone(dt.UTC).strftime("%Y%m%d%H%M")
    gap_key, at = f"mail:gap:{account.id}", now.timestamp()
    gap = int(limits.resend_interval.total_seconds())
    if gap > 0:
        wait = await store.space(gap_key, at, gap)
        if wait is not None:
            return Limited("mail.too_soon", wait)
    try:
        counted = await _take_all(
            store,
            [
                (
                    mails_today_key(account.id, now),
                    limits.mails_per_day,
                    _rest_of_day(now),
                    "mail.daily_limit",
                ),
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
    store: CounterStore, account: Account, now: dt.datetime, limits: Limits
) -> Reservation | Limited:
    """One INE attempt on this account today, taken before comparing (so that parallel
    guesses cannot all pass the check) and given back when the INE was right."""
    key = f"ine:fail:{account.id}:{_day(now)}"
    return await _take_all(
        store, [(key, limits.ine_failures_per_day, _rest_of_day(now), "ine.locked")]
    )


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
    digest = hashlib.sha256(network_of(address).encode()).hexdigest()[:24]
    wait = await store.take(f"addr:{digest}:{slot}", requests, window)
    return Limited("address", wait) if wait is not None else None
