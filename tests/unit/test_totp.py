"""The one-time codes of the staff's second factor (devstack.totp), the dev stack's key and
banner: RFC 6238's own test vectors, the forms Keycloak and the apps take."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from devstack.demo import DemoAccount
from devstack.stack import STAFF_TOTP_SECRET, load_or_create_secrets, print_banner
from devstack.totp import (
    keycloak_credential,
    new_secret,
    otpauth_uri,
    secret_bytes,
    totp,
)
from tests.helpers.totp import fresh_code, totp_at_step

# RFC 6238, appendix B: the SHA-1 key "12345678901234567890" (ASCII), 8 digits.
RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
RFC_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


@pytest.mark.parametrize(("at", "code"), RFC_VECTORS)
def test_rfc_6238_vectors(at: int, code: str) -> None:
    assert secret_bytes(RFC_SECRET) == b"12345678901234567890"
    assert totp(RFC_SECRET, at=at, digits=8) == code
    assert totp(RFC_SECRET, at=at) == code[-6:]  # the realm's 6 digits: the same, truncated


def test_a_secret_is_written_as_apps_take_it() -> None:
    secret = new_secret()
    assert len(secret) == 32 and set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    assert len(secret_bytes(secret)) == 20
    # Typed by hand: lower case, in groups of four.
    typed = " ".join(secret[i : i + 4] for i in range(0, 32, 4)).lower()
    assert totp(typed, at=1_800_000_000) == totp(secret, at=1_800_000_000)
    assert new_secret() != secret


def test_otpauth_uri_carries_the_realm_policy() -> None:
    uri = urlparse(otpauth_uri("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "agent.k103", "UM make dev"))
    assert (uri.scheme, uri.netloc, uri.path) == (
        "otpauth",
        "totp",
        "/UM%20make%20dev%3Aagent.k103",
    )
    assert parse_qs(uri.query) == {
        "secret": ["ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"],
        "issuer": ["UM make dev"],
        "algorithm": ["SHA1"],
        "digits": ["6"],
        "period": ["30"],
    }


def test_keycloak_credential_decodes_the_base32_itself() -> None:
    credential = keycloak_credential("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "make dev")
    assert credential["type"] == "otp"
    assert json.loads(credential["secretData"]) == {"value": "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"}
    assert json.loads(credential["credentialData"]) == {
        "subType": "totp",
        "digits": 6,
        "counter": 0,
        "period": 30,
        "algorithm": "HmacSHA1",
        "secretEncoding": "BASE32",
    }


def test_fresh_code_never_hands_out_a_step_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    """The realm refuses a code already used: two sign-ins within 30 s get the current
    step's code, then the next one's; a third waits for a new step."""
    now = [1_800_000_005.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    monkeypatch.setattr("devstack.totp.time.time", lambda: now[0])
    monkeypatch.setattr("tests.helpers.totp.time.time", lambda: now[0])
    monkeypatch.setattr("tests.helpers.totp.time.sleep", sleep)
    secret = new_secret()
    step = 1_800_000_005 // 30
    assert fresh_code(secret) == totp_at_step(secret, step)
    assert fresh_code(secret) == totp_at_step(secret, step + 1)
    assert fresh_code(secret) == totp_at_step(secret, step + 2)
    assert waits == [pytest.approx(25.1)]


def test_the_dev_key_is_made_once_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    first = load_or_create_secrets(path)
    assert secret_bytes(first[STAFF_TOTP_SECRET])  # base32, as apps take it
    assert load_or_create_secrets(path) == first
    # A file from before the second factor gets the key added, the rest kept.
    path.write_text("".join(f"{k}={v}\n" for k, v in first.items() if k != STAFF_TOTP_SECRET))
    again = load_or_create_secrets(path)
    assert {k: v for k, v in again.items() if k != STAFF_TOTP_SECRET} == {
        k: v for k, v in first.items() if k != STAFF_TOTP_SECRET
    }
    assert again[STAFF_TOTP_SECRET] != first[STAFF_TOTP_SECRET]


def test_the_banner_shows_the_staff_key_and_its_uri(capsys: pytest.CaptureFixture[str]) -> None:
    class Keycloak:
        admin_user, admin_password = "admin", "admin"

    secret = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    demo = [DemoAccount("agent.k103", "staff", "Guichet-K103!", "personnel (console)")]
    keycloak: Any = Keycloak()
    print_banner("http://localhost:8080", "http://localhost:8000", keycloak, demo, secret)
    out = capsys.readouterr().out
    assert f"key   {secret}" in out
    assert "otpauth://totp/UM%20make%20dev%3Aagent.k103?secret=" + secret in out
    assert "python -m devstack totp" in out
