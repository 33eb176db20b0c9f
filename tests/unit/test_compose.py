"""docker-compose.yml as compose itself loads it (scripts/compose-config: compose-go, the
loader of `docker compose config`), with .env.example filled in: valid, and each service
given every variable its process reads, and none that nothing reads. A secret the bridge
needs and compose forgets (the console's, once) fails here, not in a university."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from bridge.settings import AdminSettings, JobSettings, Settings, SmtpSettings
from devstack import compose
from devstack.keycloak import KEYCLOAK_VERSION

ROOT = Path(__file__).resolve().parents[2]

# Read by the settings, deliberately never given by compose.
NOT_FROM_COMPOSE = {
    "UM_DEV_MODE": "development only (the mail viewer)",
    "UM_MAIL_DIR": "development only (the mail viewer's directory)",
    "UM_INE_FAILURES_PER_DAY": "retired: read only to refuse a deployment that still sets it",
    "UM_BRIDGE_CLIENT_ID": "fixed by the realm file",
    "UM_CONSOLE_CLIENT_ID": "fixed by the realm file",
    "UM_PROVISIONING_CLIENT_ID": "fixed by the realm file",
    "UM_ACTION_CLIENT_ID": "fixed by the realm file",
    "UM_ADMIN_REALM": "the bootstrap administrator's realm is master",
}


class Reads(Mapping[str, str]):
    """An environment that notes every name asked of it."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = dict(values)
        self.asked: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.asked.add(name)
        return self.values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


def example_env(tmp_path: Path) -> Path:
    """.env.example as an operator fills it: every empty value given one."""
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name] = value or f"example-{name.lower()}-Zq8x7Lw2Vb5Nc4Mt9Kp3Rs6Jd1Hf0Gy"
    return compose.write_env_file(tmp_path / ".env", values)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return compose.load(example_env(tmp_path_factory.mktemp("env")), profiles=("jobs",))


def env_of(project: Any, service: str) -> dict[str, str]:
    return {k: v or "" for k, v in project["services"][service]["environment"].items()}


def read_by(readers: tuple[Callable[..., Any], ...], env: Mapping[str, str]) -> set[str]:
    reads = Reads(env)
    for reader in readers:
        reader(reads)
    return reads.asked


READERS: dict[str, tuple[Callable[..., Any], ...]] = {
    "bridge-1": (Settings.from_env, SmtpSettings.from_env),
    "bridge-2": (Settings.from_env, SmtpSettings.from_env),
    "scheduler": (JobSettings.from_env, SmtpSettings.from_env),
    "jobs": (JobSettings.from_env, SmtpSettings.from_env),
    "realm-setup": (AdminSettings.from_env,),
}


@pytest.mark.parametrize("service", sorted(READERS))
def test_every_variable_a_service_reads_is_given_by_compose(project: Any, service: str) -> None:
    env = env_of(project, service)
    asked = read_by(READERS[service], env)
    missing = {name for name in asked if name.startswith("UM_")} - set(env) - set(NOT_FROM_COMPOSE)
    assert not missing, f"{service} reads {sorted(missing)}, which compose never gives it"
    forbidden = set(env) & set(NOT_FROM_COMPOSE)
    assert not forbidden, f"{service} is given {sorted(forbidden)}: {NOT_FROM_COMPOSE}"


@pytest.mark.parametrize("service", sorted(READERS))
def test_compose_gives_a_service_nothing_it_ignores(project: Any, service: str) -> None:
    """A misspelt name (UM_JOBS_CLIENT_SECRET for UM_PROVISIONING_CLIENT_SECRET) would be
    a setting the operator believes in and the process never sees."""
    env = env_of(project, service)
    asked = read_by(READERS[service], env)
    cron = ROOT / "deploy" / "cron" / "crontab"
    crontab = cron.read_text() if service == "scheduler" and cron.is_file() else ""
    ignored = {
        name for name in env if name.startswith("UM_") and name not in asked and name not in crontab
    }
    assert not ignored, f"{service} is given {sorted(ignored)}, which nothing there reads"


def test_the_replicas_are_one_definition(project: Any) -> None:
    services = project["services"]
    assert services["bridge-1"]["environment"] == services["bridge-2"]["environment"]
    assert services["keycloak-1"]["environment"] == services["keycloak-2"]["environment"]
    assert env_of(project, "bridge-1")["UM_CONSOLE_CLIENT_SECRET"], "the console exists"


def test_keycloak_runs_the_pinned_version_as_a_cluster(project: Any) -> None:
    for node in ("keycloak-1", "keycloak-2"):
        keycloak = project["services"][node]
        assert keycloak["image"] == f"quay.io/keycloak/keycloak:{KEYCLOAK_VERSION}"
        assert keycloak["command"][0] == "start"
        env = keycloak["environment"]
        assert env["KC_DB"] == "postgres" and env["KC_CACHE"] == "ispn"
        assert env["KC_HOSTNAME_BACKCHANNEL_DYNAMIC"] == "true"
    assert "keycloak-1" in project["services"]["keycloak-2"]["depends_on"]


def test_every_realm_placeholder_reaches_keycloak(project: Any) -> None:
    """A placeholder without a default in the realm must be set in Keycloak's environment,
    or the import would keep the literal `${...}` (e.g. as a client secret); one with a
    default must not be given empty (Keycloak would put the empty value in)."""
    realm = (ROOT / "realm" / "um-realm.json").read_text()
    required = set(re.findall(r"\$\{(UM_[A-Z_]+)\}", realm))
    defaulted = set(re.findall(r"\$\{(UM_[A-Z_]+):[^}]+\}", realm))
    assert required, "the realm has secret placeholders"
    for node in ("keycloak-1", "keycloak-2"):
        env = env_of(project, node)
        assert required <= set(env), required - set(env)
        empty = {name for name in defaulted if name in env and not env[name]}
        assert empty <= {"UM_SMTP_USER", "UM_SMTP_PASSWORD"}, empty  # their default is empty


def test_the_nginx_template_is_given_each_of_its_variables(project: Any) -> None:
    template = (ROOT / "deploy" / "nginx" / "um-accounts.conf.template").read_text()
    wanted = set(re.findall(r"\$\{(UM_[A-Z_]+)\}", template))
    env = env_of(project, "nginx")
    assert wanted == {name for name in env if name.startswith("UM_")}


def test_only_nginx_is_trusted_and_everyone_calls_keycloak_inside(project: Any) -> None:
    nginx = project["services"]["nginx"]["networks"]["backend"]["ipv4_address"]
    for service in ("bridge-1", "bridge-2"):
        assert env_of(project, service)["UM_TRUSTED_PROXIES"] == nginx
    for node in ("keycloak-1", "keycloak-2"):
        assert env_of(project, node)["KC_PROXY_TRUSTED_ADDRESSES"] == nginx
    for service in ("bridge-1", "scheduler", "jobs"):
        assert env_of(project, service)["UM_KEYCLOAK_INTERNAL_URL"] == "http://nginx:8080"
        assert env_of(project, service)["UM_REDIS_URL"] == "redis://redis:6379/0"
    published = [p for p in project["services"]["nginx"]["ports"] if p.get("published")]
    assert {(p["target"], p.get("host_ip", "")) for p in published} == {
        (443, ""),
        (8080, "127.0.0.1"),
    }
    for name, service in project["services"].items():
        if name != "nginx":
            assert not service.get("ports"), f"{name} is published: only nginx is"
    # The image's command leaves the trust to UM_TRUSTED_PROXIES (never "*").
    command = [
        line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD")
    ]
    assert command and "forwarded-allow-ips" not in command[0] and "*" not in command[0]


def test_a_missing_secret_stops_compose(tmp_path: Path) -> None:
    values = {}
    for line in example_env(tmp_path).read_text().splitlines():
        name, _, value = line.partition("=")
        if name != "UM_CONSOLE_CLIENT_SECRET":
            values[name] = value
    with pytest.raises(compose.ComposeError, match="UM_CONSOLE_CLIENT_SECRET"):
        compose.load(compose.write_env_file(tmp_path / "short.env", values))


def test_secrets_have_no_default() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    for name in (
        "KC_DB_PASSWORD",
        "KC_BOOTSTRAP_ADMIN_PASSWORD",
        "UM_BRIDGE_CLIENT_SECRET",
        "UM_PORTAL_CLIENT_SECRET",
        "UM_CONSOLE_CLIENT_SECRET",
        "UM_PROVISIONING_CLIENT_SECRET",
        "UM_SESSION_SECRET",
        "UM_CONSOLE_SESSION_SECRET",
    ):
        assert re.search(r"\$\{" + name + r":\?", text), name
        assert not re.search(r"\$\{" + name + r":-", text), name


def test_keycloak_and_the_bridges_mount_the_repository_s_realm_and_theme(project: Any) -> None:
    def mounts(service: str) -> set[tuple[str, str]]:
        return {
            (str(Path(v["source"]).relative_to(ROOT)), v["target"])
            for v in project["services"][service]["volumes"]
            if v["type"] == "bind"
        }

    for node in ("keycloak-1", "keycloak-2"):
        assert ("realm", "/opt/keycloak/data/import") in mounts(node)
        assert ("themes/um-activation", "/opt/keycloak/themes/um-activation") in mounts(node)
    for replica in ("bridge-1", "bridge-2"):
        assert ("themes/um-activation", "/app/themes/um-activation") in mounts(replica)
        assert project["services"][replica]["build"]["context"] == str(ROOT)
