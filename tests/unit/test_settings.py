from __future__ import annotations

from pathlib import Path

import pytest

from bridge.settings import (
    AdminSettings,
    JobSettings,
    Settings,
    SettingsError,
    SmtpSettings,
    estimated_bits,
)

# Two keys as `secrets.token_urlsafe(32)` makes them (43 characters, 256 random bits).
SESSION_KEY = "q0Zr8X4mVb1sJt7LcN9wYh2KdF5pGa3Ue6oTiRnBzQk"
CONSOLE_KEY = "Hb7Nq2LxW9cVt4RzKm1Yp8Dg5Fs3Ja6Ue0oTiBnMhQw"
REQUIRED = {"UM_BRIDGE_CLIENT_SECRET": "s3cret", "UM_SESSION_SECRET": SESSION_KEY}


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


@pytest.mark.parametrize(
    "weak",
    [
        "k3y",  # short
        "k" * 31 + "\u00e9",  # 32 bytes in UTF-8, but one character repeated
        "a" * 64,  # long, one character
        "ab" * 32,  # long, two characters: 64 bits
        "password" * 4,  # 32 bytes, 7 characters: 90 bits
        "x" * 40 + "abcdefghijklmnop",  # 56 bytes, 17 characters, mostly one: 101 bits
        "0123456789abcdef" * 2,  # 32 bytes, 16 characters, but one part twice: 64 bits
    ],
)
def test_a_weak_session_secret_is_refused_at_start_up(weak: str) -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({**REQUIRED, "UM_SESSION_SECRET": weak})
    message = str(error.value)
    assert "UM_SESSION_SECRET is too weak" in message and "32 bytes" in message
    assert "token_urlsafe(32)" in message  # how to make a good one
    assert weak not in message  # never echoed


def test_the_strength_rule() -> None:
    """32 bytes or more, and length x Shannon entropy of the characters >= 128 bits."""
    assert estimated_bits("") == 0
    assert estimated_bits("a" * 100) == 0
    assert estimated_bits("ab" * 16) == 2  # "ab" repeated: "ab" once
    assert estimated_bits("0123456789abcdef" * 2) == 64
    assert estimated_bits("abcabcabx") == pytest.approx(9 * 1.8911, abs=0.01)
    hex_key = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    assert estimated_bits(hex_key) > 128  # 64 hex characters (secrets.token_hex(32))
    assert Settings.from_env({**REQUIRED, "UM_SESSION_SECRET": hex_key})
    assert estimated_bits(SESSION_KEY) > 200


def test_the_console_has_its_own_cookie_key() -> None:
    console = {**REQUIRED, "UM_CONSOLE_CLIENT_SECRET": "c0ns0le"}
    with pytest.raises(SettingsError, match="UM_CONSOLE_SESSION_SECRET is required"):
        Settings.from_env(console)
    with pytest.raises(SettingsError, match="must differ from UM_SESSION_SECRET"):
        Settings.from_env({**console, "UM_CONSOLE_SESSION_SECRET": SESSION_KEY})
    with pytest.raises(SettingsError, match="UM_CONSOLE_SESSION_SECRET is too weak"):
        Settings.from_env({**console, "UM_CONSOLE_SESSION_SECRET": "k3y"})
    settings = Settings.from_env({**console, "UM_CONSOLE_SESSION_SECRET": CONSOLE_KEY})
    assert (settings.session_secret, settings.console_session_secret) == (SESSION_KEY, CONSOLE_KEY)
    # Without the console, none is needed.
    assert Settings.from_env(REQUIRED).console_session_secret is None


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


def test_the_desk_is_seed_004s_by_default_and_configurable() -> None:
    settings = Settings.from_env({**REQUIRED, "UM_DESK_NAME": "", "UM_DESK_NOTE": ""})
    assert settings.desk_name == "l'espace numérique (K103)"
    assert settings.desk_room == "salle K103 (1er étage du bâtiment K)"
    assert settings.desk_note == (
        "Pendant la semaine de rentrée, l'espace numérique (K103) est ouvert pour "
        "l'activation de votre compte informatique."
    )
    own = Settings.from_env(
        {**REQUIRED, "UM_DESK_NAME": "le guichet numérique (B12)", "UM_DESK_NOTE": " - "}
    )
    assert own.desk_name == "le guichet numérique (B12)"
    assert own.desk_note == ""  # "-": no note


# --- The other sections: each demands only the secrets its part of the runtime needs. ---

JOBS = {"UM_PROVISIONING_CLIENT_SECRET": "pr0v"}


def test_jobs_defaults_and_no_web_secret_needed() -> None:
    jobs = JobSettings.from_env(JOBS)
    assert jobs.keycloak_url == "http://localhost:8080"
    assert jobs.realm == "um"
    assert jobs.client_id == "provisioning"
    assert jobs.client_secret == "pr0v"
    assert jobs.provision_state is None
    assert jobs.sis_export is None


def test_jobs_read_their_variables(tmp_path: Path) -> None:
    jobs = JobSettings.from_env(
        {
            **JOBS,
            "UM_KEYCLOAK_URL": "https://idp.example/",
            "UM_REALM": "etu",
            "UM_PROVISIONING_CLIENT_ID": "sis-sync",
            "UM_PROVISION_STATE": str(tmp_path / "state.sqlite"),
            "UM_SIS_EXPORT": "/exports/sis.csv",
        }
    )
    assert jobs.keycloak_url == "https://idp.example"
    assert (jobs.realm, jobs.client_id) == ("etu", "sis-sync")
    assert jobs.provision_state == tmp_path / "state.sqlite"
    assert jobs.sis_export == Path("/exports/sis.csv")


@pytest.mark.parametrize("environ", [{}, {"UM_PROVISIONING_CLIENT_SECRET": ""}, REQUIRED])
def test_jobs_require_the_provisioning_secret(environ: dict[str, str]) -> None:
    with pytest.raises(SettingsError) as error:
        JobSettings.from_env(environ)
    assert str(error.value) == (
        "set UM_PROVISIONING_CLIENT_SECRET (the provisioning client's secret)"
    )


def test_jobs_empty_variables_mean_the_default() -> None:
    jobs = JobSettings.from_env(
        {
            **JOBS,
            "UM_KEYCLOAK_URL": "",
            "UM_REALM": "",
            "UM_PROVISIONING_CLIENT_ID": "",
            "UM_PROVISION_STATE": "",
            "UM_SIS_EXPORT": "",
        }
    )
    assert jobs == JobSettings.from_env(JOBS)


def test_admin_defaults_and_required_password() -> None:
    admin = AdminSettings.from_env({"UM_ADMIN_PASSWORD": "adm1n"})
    assert (admin.keycloak_url, admin.realm) == ("http://localhost:8080", "um")
    assert (admin.user, admin.password, admin.user_realm) == ("admin", "adm1n", "master")
    for environ in ({}, {"UM_ADMIN_PASSWORD": ""}, {**REQUIRED, **JOBS}):
        with pytest.raises(SettingsError, match="UM_ADMIN_PASSWORD"):
            AdminSettings.from_env(environ)


def test_admin_reads_its_variables_and_empty_means_default() -> None:
    admin = AdminSettings.from_env(
        {"UM_ADMIN_PASSWORD": "p", "UM_ADMIN_USER": "ops", "UM_ADMIN_REALM": "staff"}
    )
    assert (admin.user, admin.user_realm) == ("ops", "staff")
    empty = {"UM_ADMIN_PASSWORD": "p", "UM_ADMIN_USER": "", "UM_ADMIN_REALM": "", "UM_REALM": ""}
    assert AdminSettings.from_env(empty) == AdminSettings.from_env({"UM_ADMIN_PASSWORD": "p"})


def test_smtp_defaults_need_no_secret() -> None:
    smtp = SmtpSettings.from_env({})
    assert smtp == SmtpSettings(host="")
    assert smtp.port == 587
    assert smtp.sender == "ne-pas-repondre@umontpellier.example"
    assert smtp.sender_name == "Compte informatique"
    assert (smtp.starttls, smtp.ssl, smtp.user, smtp.password) == (True, False, "", "")


def test_smtp_reads_its_variables() -> None:
    smtp = SmtpSettings.from_env(
        {
            "UM_SMTP_HOST": "relay.example",
            "UM_SMTP_PORT": "465",
            "UM_SMTP_FROM": "comptes@example.org",
            "UM_SMTP_FROM_NAME": "Comptes",
            "UM_SMTP_STARTTLS": "false",
            "UM_SMTP_SSL": "yes",
            "UM_SMTP_USER": "relay-user",
            "UM_SMTP_PASSWORD": "relay-pass",
        }
    )
    assert smtp == SmtpSettings(
        host="relay.example",
        port=465,
        sender="comptes@example.org",
        sender_name="Comptes",
        starttls=False,
        ssl=True,
        user="relay-user",
        password="relay-pass",
    )


def test_smtp_empty_variables_mean_the_default() -> None:
    names = ("HOST", "PORT", "FROM", "FROM_NAME", "STARTTLS", "SSL", "USER", "PASSWORD")
    assert SmtpSettings.from_env({f"UM_SMTP_{n}": "" for n in names}) == SmtpSettings(host="")


def test_smtp_port_must_be_a_number() -> None:
    with pytest.raises(SettingsError, match="UM_SMTP_PORT"):
        SmtpSettings.from_env({"UM_SMTP_PORT": "smtp"})


@pytest.mark.parametrize("proxies", ["*", "0.0.0.0/0", "::/0", "proxy.example"])
def test_trusted_proxies_name_the_proxies_never_everyone(proxies: str) -> None:
    with pytest.raises(SettingsError, match="UM_TRUSTED_PROXIES"):
        Settings.from_env({**REQUIRED, "UM_TRUSTED_PROXIES": proxies})


def test_trusted_proxies_are_addresses_or_networks() -> None:
    env = {**REQUIRED, "UM_TRUSTED_PROXIES": "10.0.0.5, 2001:db8::/64"}
    assert Settings.from_env(env).trusted_proxies == ("10.0.0.5", "2001:db8::/64")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("UM_ADDRESS_LIMIT", "30/0"),
        ("UM_ADDRESS_LIMIT", "0/600"),
        ("UM_MAILS_PER_DAY", "0"),
        ("UM_MAILS_PER_MINUTE", "-1"),
        ("UM_INE_FAILURES_PER_NETWORK", "0"),
        ("UM_MAILS_PER_NETWORK", "0"),
        ("UM_LOOKUPS_PER_HOUR", "0"),
        ("UM_BACKOFF_CAP", "0"),
        ("UM_RESEND_INTERVAL", "-5"),
        ("UM_INE_BACKOFF", "-1"),
    ],
)
def test_limits_must_be_positive(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match="positive"):
        Settings.from_env({**REQUIRED, name: value})


def test_a_limit_that_no_longer_exists_is_refused() -> None:
    with pytest.raises(SettingsError, match="UM_INE_FAILURES_PER_NETWORK"):
        Settings.from_env({**REQUIRED, "UM_INE_FAILURES_PER_DAY": "5"})


def test_the_proof_of_work_defaults_and_variables() -> None:
    """A campus behind one NAT address: 300 posts per 10 minutes, a challenge past 10."""
    defaults = Settings.from_env(REQUIRED)
    assert defaults.address_limit == (300, 600)
    assert (defaults.challenge_after, defaults.challenge_cost) == (10, 5000)
    env = {**REQUIRED, "UM_CHALLENGE_AFTER": "0", "UM_CHALLENGE_COST": "20000"}
    assert (Settings.from_env(env).challenge_after, Settings.from_env(env).challenge_cost) == (
        0,
        20000,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("UM_CHALLENGE_AFTER", "-1"),
        ("UM_CHALLENGE_AFTER", "ten"),
        ("UM_CHALLENGE_COST", "0"),
        ("UM_CHALLENGE_COST", "5k"),
    ],
)
def test_the_proof_of_work_settings_are_checked(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match="UM_CHALLENGE"):
        Settings.from_env({**REQUIRED, name: value})


def test_the_provision_command_defaults_are_the_jobs() -> None:
    """bridge.cli.provision repeats them (it loads the job only when it runs)."""
    from bridge.cli import provision as command
    from bridge.jobs import provision as job

    assert (command.BATCH_SIZE, command.CONCURRENCY) == (job.BATCH_SIZE, job.CONCURRENCY)


def test_the_back_channel_may_take_an_internal_route() -> None:
    """Browsers and the issuer use the public URL; the bridge's own calls (tokens, keys,
    the admin API), the jobs' and the realm set-up's use UM_KEYCLOAK_INTERNAL_URL."""
    public = {**REQUIRED, "UM_KEYCLOAK_URL": "https://idp.univ.example/"}
    assert Settings.from_env(public).keycloak_backchannel_url == "https://idp.univ.example"
    inside = {**public, "UM_KEYCLOAK_INTERNAL_URL": "http://nginx:8080/"}
    settings = Settings.from_env(inside)
    assert settings.keycloak_url == "https://idp.univ.example"
    assert settings.keycloak_backchannel_url == "http://nginx:8080"
    jobs = {"UM_PROVISIONING_CLIENT_SECRET": "s", "UM_KEYCLOAK_INTERNAL_URL": "http://nginx:8080"}
    assert JobSettings.from_env(jobs).keycloak_url == "http://nginx:8080"
    admin = {"UM_ADMIN_PASSWORD": "p", "UM_KEYCLOAK_INTERNAL_URL": "http://keycloak-1:8080"}
    assert AdminSettings.from_env(admin).keycloak_url == "http://keycloak-1:8080"


def test_action_links_land_under_the_portal() -> None:
    """The portal client registers UM_PORTAL_URL/* only: a landing page elsewhere would
    make Keycloak refuse every action link, so the bridge refuses to start."""
    env = {**REQUIRED, "UM_PORTAL_URL": "https://ent.univ.example"}
    assert Settings.from_env(env).action_redirect_uri == "https://ent.univ.example/login"
    mine = {**env, "UM_ACTION_REDIRECT_URI": "https://ent.univ.example/"}
    assert Settings.from_env(mine).action_redirect_uri == "https://ent.univ.example/"
    for outside in ("https://comptes.univ.example/portal/login", "https://ent.univ.example.evil/"):
        with pytest.raises(SettingsError, match="UM_ACTION_REDIRECT_URI"):
            Settings.from_env({**env, "UM_ACTION_REDIRECT_URI": outside})
