"""The runner's own logic, without starting Keycloak (the integration tests do that)."""

from __future__ import annotations

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
