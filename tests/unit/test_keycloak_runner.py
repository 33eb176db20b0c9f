"""The runner's own logic, without starting Keycloak (the integration tests do that)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

from devstack import keycloak as runner


def test_a_tampered_download_is_refused_and_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UM_CACHE_DIR", str(tmp_path))
    version = "0.0.0-test"
    zip_path = (
        tmp_path
        / "m2"
        / "org"
        / "keycloak"
        / "keycloak-quarkus-dist"
        / version
        / f"keycloak-quarkus-dist-{version}.zip"
    )
    zip_path.parent.mkdir(parents=True)
    zip_path.write_bytes(b"not the reviewed archive")
    with pytest.raises(runner.KeycloakRunnerError, match="checksum mismatch"):
        runner.fetch_distribution(version, sha256="0" * 64)
    assert not zip_path.exists()
    assert not (tmp_path / f"keycloak-{version}").exists()


def test_the_newest_supported_jdk_is_chosen() -> None:
    home, major = runner.find_java_home()
    assert major in runner.SUPPORTED_JDKS
    assert (home / "bin" / "java").is_file()
    present = {
        runner.java_major_version(p / "bin" / "java")
        for p in Path("/usr/lib/jvm").iterdir()
        if (p / "bin" / "java").is_file()
    }
    assert major == max(m for m in present if m in runner.SUPPORTED_JDKS)


def test_java_version_parsing_of_a_missing_binary(tmp_path: Path) -> None:
    assert runner.java_major_version(tmp_path / "nope") is None


def test_dev_command_line_turns_theme_caches_off(tmp_path: Path) -> None:
    instance = runner.KeycloakInstance(tmp_path, http_port=1234, management_port=5678)
    argv = instance.command()
    assert "start-dev" in argv and "--import-realm" in argv
    assert "--http-port=1234" in argv and "--http-management-port=5678" in argv
    assert "--health-enabled=true" in argv
    assert "--spi-theme--cache-themes=false" in argv


# --- the version: the pin by default, another known one for measurements ------------------


def test_the_default_is_the_pin_exactly() -> None:
    assert runner.KEYCLOAK_VERSION == "26.5.6"
    assert (
        runner.KEYCLOAK_SHA256 == "490189d9dff05272432d51f71a069462eeca97f2920a694d539a1e6c26a5a347"
    )
    assert runner.KNOWN_VERSIONS[runner.KEYCLOAK_VERSION] == runner.KEYCLOAK_SHA256
    assert runner.selected_version({}) == runner.KEYCLOAK_VERSION
    assert runner.selected_version({"UM_KEYCLOAK_VERSION": " "}) == runner.KEYCLOAK_VERSION


def test_every_known_version_has_a_sha256() -> None:
    assert "26.7.3" in runner.KNOWN_VERSIONS
    for version, sha256 in runner.KNOWN_VERSIONS.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), version
        assert re.fullmatch(r"[0-9a-f]{64}", sha256), version
    assert len(set(runner.KNOWN_VERSIONS.values())) == len(runner.KNOWN_VERSIONS)


def test_the_environment_selects_a_known_version() -> None:
    assert runner.selected_version({"UM_KEYCLOAK_VERSION": "26.7.3"}) == "26.7.3"
    with pytest.raises(runner.KeycloakRunnerError, match="not a known version"):
        runner.selected_version({"UM_KEYCLOAK_VERSION": "26.8.0"})


def test_an_instance_runs_the_selected_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("UM_KEYCLOAK_VERSION", raising=False)
    assert runner.KeycloakInstance(tmp_path).version == runner.KEYCLOAK_VERSION
    monkeypatch.setenv("UM_KEYCLOAK_VERSION", "26.7.3")
    assert runner.KeycloakInstance(tmp_path).version == "26.7.3"
    assert runner.KeycloakInstance(tmp_path, version="26.5.6").version == "26.5.6"
    monkeypatch.setenv("UM_KEYCLOAK_VERSION", "9.9.9")
    with pytest.raises(runner.KeycloakRunnerError):
        runner.KeycloakInstance(tmp_path)


def test_an_unknown_version_without_a_sha256_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UM_CACHE_DIR", str(tmp_path))
    with pytest.raises(runner.KeycloakRunnerError, match="no recorded SHA-256"):
        runner.fetch_distribution("0.0.1-unknown")


def fake_distribution(cache: Path, version: str) -> str:
    """A zip laid out as keycloak-quarkus-dist's, where Maven would have put it; its
    SHA-256."""
    zip_path = cache / "m2" / "org" / "keycloak" / "keycloak-quarkus-dist" / version
    zip_path.mkdir(parents=True)
    zip_path = zip_path / f"keycloak-quarkus-dist-{version}.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr(f"keycloak-{version}/bin/kc.sh", "#!/bin/sh\n")
        archive.writestr(f"keycloak-{version}/themes/README.md", "")
        archive.writestr(f"keycloak-{version}/version.txt", f"Keycloak - Version {version}\n")
    return runner.sha256_of(zip_path)


def test_each_version_is_unpacked_apart_and_marked_with_its_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UM_CACHE_DIR", str(tmp_path))
    hashes = {v: fake_distribution(tmp_path, v) for v in ("1.0.0", "2.0.0")}
    monkeypatch.setattr(runner, "KNOWN_VERSIONS", hashes)
    homes = {v: runner.fetch_distribution(v) for v in hashes}
    for version, home in homes.items():
        assert home == tmp_path / f"keycloak-{version}"
        marker = (home / runner.VERIFIED_MARKER).read_text().split()
        assert marker == [hashes[version], version]
        assert runner.verified_sha256(home) == hashes[version]
        assert version in (home / "version.txt").read_text()
    # A second call takes the unpacked copy as it is.
    (homes["1.0.0"] / "touched").write_text("")
    assert (runner.fetch_distribution("1.0.0") / "touched").is_file()


def test_a_marker_written_before_the_version_was_recorded_still_counts(tmp_path: Path) -> None:
    (tmp_path / runner.VERIFIED_MARKER).write_text("ab" * 32 + "\n")
    assert runner.verified_sha256(tmp_path) == "ab" * 32
    assert runner.verified_sha256(tmp_path / "nowhere") is None


def test_an_instance_copy_of_another_version_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("UM_CACHE_DIR", str(cache))
    hashes = {v: fake_distribution(cache, v) for v in ("1.0.0", "2.0.0")}
    monkeypatch.setattr(runner, "KNOWN_VERSIONS", hashes)
    realm = tmp_path / "realm"
    realm.mkdir()
    theme = tmp_path / "theme"
    theme.mkdir()

    def install(version: str) -> runner.KeycloakInstance:
        instance = runner.KeycloakInstance(
            tmp_path / "instance", version=version, realm_dir=realm, theme_dir=theme
        )
        instance.install(fresh=True)
        return instance

    first = install("1.0.0")
    (first.home / "lib").mkdir()
    (first.home / "lib" / "built-for-1.0.0").write_text("")
    assert "1.0.0" in (first.home / "version.txt").read_text()
    # The same version again: the copy (and its build) is kept.
    assert (install("1.0.0").home / "lib" / "built-for-1.0.0").is_file()
    # Another version: a copy of that one, nothing of the first left.
    second = install("2.0.0")
    assert "2.0.0" in (second.home / "version.txt").read_text()
    assert runner.verified_sha256(second.home) == hashes["2.0.0"]
    assert not (second.home / "lib" / "built-for-1.0.0").exists()
    assert (second.home / "themes" / runner.THEME_NAME).is_symlink()
