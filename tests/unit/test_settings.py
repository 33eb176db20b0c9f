from __future__ import annotations

from pathlib import Path

import pytest

from bridge.settings import Settings, SettingsError

REQUIRED = {"UM_BRIDGE_CLIENT_SECRET": "s3cret", "UM_SESSION_SECRET": "k3y"}


def test_defaults_follow_the_local_conventions() -> None:
    settings = Settings.from_env(REQUIRED)
    assert settings.keycloak_url == "http://localhost:8080"
    assert settings.realm == "um"
    assert settings.client_id == "bridge"
    assert settings.public_url == "http://localhost:8000"
    assert settings.dev_mode is False
    assert settings.mail_dir is None
    assert settings.https is False


def test_missing_secrets_are_named() -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({})
    assert "UM_BRIDGE_CLIENT_SECRET" in str(error.value)
    assert "UM_SESSION_SECRET" in str(error.value)


def test_mail_viewer_only_in_dev_mode(tmp_path: Path) -> None:
    env = {**REQUIRED, "UM_MAIL_DIR": str(tmp_path)}
    assert Settings.from_env(env).mail_dir is None
    assert Settings.from_env({**env, "UM_DEV_MODE": "true"}).mail_dir == tmp_path


def test_trailing_slashes_are_dropped() -> None:
    settings = Settings.from_env(
        {
            **REQUIRED,
            "UM_KEYCLOAK_URL": "https://idp.example/",
            "UM_BRIDGE_URL": "https://comptes.example/",
        }
    )
    assert settings.keycloak_url == "https://idp.example"
    assert settings.https is True


def test_empty_variables_mean_the_default() -> None:
    # docker compose passes `${UM_SUPPORT_URL:-}` as an empty string
    settings = Settings.from_env({**REQUIRED, "UM_SUPPORT_URL": "", "UM_REALM": ""})
    assert settings.support_url.startswith("https://")
    assert settings.realm == "um"
