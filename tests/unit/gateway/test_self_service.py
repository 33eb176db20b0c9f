"""The account page's gateway, its pure part: Keycloak's answers read into our types."""

from __future__ import annotations

import datetime as dt

from bridge.gateway.keycloak.self_service import sessions_of, tokens_of


def test_sessions_are_flattened_this_one_first_then_the_latest() -> None:
    devices = [
        {
            "os": "Linux",
            "osVersion": "Unknown",
            "browser": "Chrome/156.0",
            "ipAddress": "192.0.2.1",
            "sessions": [
                {"id": "old", "started": 1_700_000_000, "lastAccess": 1_700_000_100},
                {"id": "new", "started": 1_700_000_000, "lastAccess": 1_700_000_900},
            ],
        },
        {
            "os": "Android",
            "osVersion": "14",
            "sessions": [
                {
                    "id": "here",
                    "ipAddress": "198.51.100.7",
                    "browser": "Firefox/128.0",
                    "started": 1_700_000_000_000,  # milliseconds: read as seconds
                    "lastAccess": 1_700_000_050,
                    "current": True,
                }
            ],
        },
    ]
    found = sessions_of(devices)
    assert [s.session_id for s in found] == ["here", "new", "old"]
    here = found[0]
    assert here.current and here.device == "Android 14" and here.browser == "Firefox/128.0"
    assert here.started == dt.datetime.fromtimestamp(1_700_000_000, tz=dt.UTC)
    assert found[1].device == "Linux"  # Keycloak's "Unknown" left out
    assert found[1].ip_address == "192.0.2.1"
    assert sessions_of(None) == []


def test_tokens_from_a_token_endpoint_answer() -> None:
    tokens = tokens_of({"access_token": "a", "refresh_token": "r", "expires_in": 300}, 1000.0)
    assert (tokens.access_token, tokens.refresh_token, tokens.expires_at) == ("a", "r", 1300.0)
    # Authlib's answer already says when.
    assert tokens_of({"access_token": "a", "expires_at": 5}, 1000.0).expires_at == 5.0
