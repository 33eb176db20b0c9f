"""The wheel (what the Dockerfile installs) carries the runtime only: no `devstack` package,
no `aiosmtpd` requirement (the dev tooling and its extra stay in the checkout)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from email.parser import Parser
from pathlib import Path

import pytest

from devstack.package import NOT_SOURCES, WHEEL_OPTIONS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    source = tmp_path_factory.mktemp("checkout") / "um-accounts"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCES, symlinks=True)
    out = tmp_path_factory.mktemp("wheel")
    # No build isolation: setuptools comes from the venv (test extra), no network needed.
    build = ["wheel", str(source), "-w", str(out), *WHEEL_OPTIONS]
    subprocess.run(
        [sys.executable, "-m", "pip", *build, "--no-cache-dir"],
        check=True,
        cwd=out,
        timeout=300,
    )
    (path,) = out.glob("um_bridge-*.whl")
    with zipfile.ZipFile(path) as archive:
        yield archive


def test_the_wheel_holds_the_runtime_package_only(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    assert "bridge/cli/__init__.py" in names
    assert "bridge/settings.py" in names
    assert any(name.startswith("bridge/web/templates/") for name in names)
    top_level = {name.split("/")[0] for name in names}
    assert not any("devstack" in name for name in names), sorted(top_level)
    assert {name for name in top_level if not name.endswith(".dist-info")} == {"bridge"}


def test_the_wheel_does_not_require_the_dev_tooling(wheel: zipfile.ZipFile) -> None:
    (metadata_name,) = (n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    metadata = Parser().parsestr(wheel.read(metadata_name).decode())
    requires = metadata.get_all("Requires-Dist") or []
    assert any(r.startswith("starlette") for r in requires)
    runtime = [r for r in requires if "extra ==" not in r]
    assert not [r for r in runtime if r.lower().startswith("aiosmtpd")], runtime
    # aiosmtpd is only in the `dev` extra.
    assert [r for r in requires if r.lower().startswith("aiosmtpd")] == [
        'aiosmtpd>=1.4.6; extra == "dev"'
    ]
