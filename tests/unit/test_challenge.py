"""bridge.web.challenge: the ALTCHA challenge the widget solves and the check of what it
posts: ours, unexpired, solved, and good once (the shared counters remember it)."""

from __future__ import annotations

import base64
import json
import secrets
import time

import altcha
import pytest

from bridge.flows.counters import MemoryCounters
from bridge.web.challenge import LIFETIME, ChallengeKeys, new_challenge, spend, verified
from tests.helpers.report import report

pytestmark = pytest.mark.anyio

COST = 200  # a cheap challenge: these tests are about the checks, not the work


def solved(challenge: dict[str, object]) -> str:
    """What the widget posts in `altcha`: the challenge and its solution, base64 JSON."""
    parsed = altcha.Challenge.from_dict(challenge)
    solution = altcha.solve_challenge(parsed)
    assert solution is not None
    return altcha.Payload(parsed, solution).to_base64()


@pytest.fixture(autouse=True)
def few_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Solving in Python takes the browser's 5,000 to 10,000 attempts otherwise."""
    monkeypatch.setattr("bridge.web.challenge.COUNTERS", (50, 100))


@pytest.fixture
def keys() -> ChallengeKeys:
    return ChallengeKeys.from_secret(secrets.token_urlsafe(32))


def test_the_challenge_is_deterministic_pbkdf2_signed_and_expires(keys: ChallengeKeys) -> None:
    challenge = new_challenge(keys, COST, now=1_000_000.0)
    parameters = challenge["parameters"]
    assert parameters["algorithm"] == "PBKDF2/SHA-256" and parameters["cost"] == COST
    assert parameters["expiresAt"] == 1_000_000 + LIFETIME == 1_000_600
    assert parameters["keySignature"] and challenge["signature"]
    assert len(parameters["keyPrefix"]) == 32  # the browser must reach the drawn counter


def test_the_keys_are_derived_never_the_secret() -> None:
    secret = secrets.token_urlsafe(32)
    keys = ChallengeKeys.from_secret(secret)
    assert secret.encode() not in (keys.parameters, keys.derived_key)
    assert keys.parameters != keys.derived_key
    assert keys == ChallengeKeys.from_secret(secret)  # every replica derives the same


async def test_a_solution_is_good_once(keys: ChallengeKeys) -> None:
    store = MemoryCounters()
    payload = solved(new_challenge(keys, COST))
    assert verified(payload, keys)
    assert await spend(payload, keys, store) is True
    assert await spend(payload, keys, store) is False  # replayed
    assert verified(payload, keys)  # still a valid solution: only its use was spent


async def test_an_expired_challenge_is_refused(keys: ChallengeKeys) -> None:
    payload = solved(new_challenge(keys, COST, now=time.time() - LIFETIME - 1))
    assert verified(payload, keys) is None
    assert await spend(payload, keys, MemoryCounters()) is False


async def test_another_key_is_refused(keys: ChallengeKeys) -> None:
    other = ChallengeKeys.from_secret(secrets.token_urlsafe(32))
    payload = solved(new_challenge(other, COST))
    assert verified(payload, keys) is None
    assert await spend(payload, keys, MemoryCounters()) is False


def tampered(payload: str, change: str) -> str:
    data = json.loads(base64.b64decode(payload))
    parameters, solution = data["challenge"]["parameters"], data["challenge"]
    if change == "cost":
        parameters["cost"] = 1  # a cheaper challenge than the one signed
    elif change == "expiry":
        parameters["expiresAt"] += 3600
    elif change == "signature":
        solution["signature"] = "0" * 64
    elif change == "no signature":
        del solution["signature"]
    elif change == "derived key":
        data["solution"]["derivedKey"] = "00" * 32
    elif change == "counter":
        data["solution"]["counter"] += 1
        data["solution"]["derivedKey"] = "11" * 32
    return base64.b64encode(json.dumps(data).encode()).decode()


@pytest.mark.parametrize(
    "change", ["cost", "expiry", "signature", "no signature", "derived key", "counter"]
)
def test_a_tampered_payload_is_refused(keys: ChallengeKeys, change: str) -> None:
    payload = solved(new_challenge(keys, COST))
    assert verified(tampered(payload, change), keys) is None


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "not base64 at all",
        base64.b64encode(b"[]").decode(),
        base64.b64encode(b'{"challenge": 1, "solution": 2}').decode(),
        base64.b64encode(b'{"challenge": {"parameters": []}, "solution": {}}').decode(),
        base64.b64encode(b"[" * 100_000).decode()[:4000],
        "é" * 100,
        "A" * 5000,
    ],
)
def test_malformed_payloads_are_refused_not_raised(keys: ChallengeKeys, payload: str) -> None:
    assert verified(payload, keys) is None


def test_verifying_costs_the_server_two_hmacs(keys: ChallengeKeys) -> None:
    """Deterministic mode: the server checks the key's signature, it derives nothing."""
    cost = 5000  # the default: issuing derives the key once, checking does not
    started = time.perf_counter()
    for _ in range(20):
        new_challenge(keys, cost)
    issue_ms = (time.perf_counter() - started) / 20 * 1000
    payload = solved(new_challenge(keys, COST))
    started = time.perf_counter()
    for _ in range(200):
        assert verified(payload, keys)
    verify_ms = (time.perf_counter() - started) / 200 * 1000
    report(
        f"proof of work: issuing a challenge (cost {cost}, one PBKDF2 derivation) "
        f"{issue_ms:.2f} ms, verifying a solution {verify_ms:.3f} ms"
    )
    assert verify_ms < 5
