"""The bridge as the Dockerfile installs it: the wheel built from a clean copy of the
checkout (sources only, the message catalogues compiled into it), installed into a fresh
virtualenv. The production-shape stage runs that, never the source tree."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from devstack.keycloak import REPO_ROOT

# Local state and build leftovers: never part of what is built (a stale build/ directory
# would leak old files into the wheel).
NOT_SOURCES = shutil.ignore_patterns(
    ".git",
    ".venv",
    "var",
    "node_modules",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    ".hypothesis",
    "test-artifacts",
    "*.mo",
)


# Offline: setuptools comes from the project's .venv (the test extra), as tests/unit/test_wheel.py.
WHEEL_OPTIONS = ("--no-deps", "--no-build-isolation", "-q")


TRUST_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "PIP_CERT")


class PackageError(RuntimeError):
    pass


def _run(argv: list[str], cwd: Path, what: str, env: dict[str, str] | None = None) -> None:
    if env is None:
        # pip reaches the package index with the system's trust store, never a test's CA.
        env = {k: v for k, v in os.environ.items() if k not in TRUST_VARIABLES}
    result = subprocess.run(  # noqa: S603 - fixed argv
        argv, cwd=cwd, capture_output=True, text=True, check=False, env=env, timeout=900
    )
    if result.returncode != 0:
        raise PackageError(f"{what} failed:\n{(result.stdout + result.stderr)[-3000:]}")


@dataclass(frozen=True)
class InstalledBridge:
    venv: Path
    wheel: Path
    seconds: float

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def command(self, *args: str) -> list[str]:
        """`bridge ARGS` as the image runs it (its console script, from the venv)."""
        return [str(self.bin / "bridge"), *args]

    def module_file(self) -> Path:
        """Where the installed `bridge` package lives (asked of the venv's Python, from a
        directory that holds no source)."""
        out = subprocess.run(  # noqa: S603 - fixed argv
            [str(self.bin / "python"), "-c", "import bridge, sys; print(bridge.__file__)"],
            cwd=self.venv,
            capture_output=True,
            text=True,
            check=True,
        )
        return Path(out.stdout.strip())

    def dockerfile_command(self) -> list[str]:
        """The image's CMD (Dockerfile), its program from this venv."""
        for line in (REPO_ROOT / "Dockerfile").read_text().splitlines():
            if line.startswith("CMD "):
                argv: list[str] = json.loads(line[4:])
                return [str(self.bin / argv[0]), *argv[1:]]
        raise PackageError("the Dockerfile has no CMD")


def build_and_install(directory: Path) -> InstalledBridge:
    """Build the wheel as the Dockerfile does (catalogues compiled, then `pip install .`),
    and install it with its dependencies into a fresh virtualenv under `directory`."""
    started = time.monotonic()
    directory = directory.resolve()
    shutil.rmtree(directory, ignore_errors=True)
    source = directory / "source"
    shutil.copytree(REPO_ROOT, source, ignore=NOT_SOURCES, symlinks=True)
    python = str(REPO_ROOT / ".venv" / "bin" / "python")
    _run(
        ["bash", "scripts/catalogue", "compile"],
        source,
        "compiling the catalogues",
        env={"PATH": "/usr/bin:/bin", "PYTHON": python},
    )
    dist = directory / "dist"
    _run(
        [python, "-m", "pip", "wheel", str(source), "-w", str(dist), *WHEEL_OPTIONS],
        directory,
        "building the wheel",
    )
    (wheel,) = dist.glob("um_bridge-*.whl")
    venv = directory / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    _run([base, "-m", "venv", str(venv)], directory, "creating the virtualenv")
    _run(
        [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(wheel)],
        directory,
        "installing the wheel",
    )
    shutil.rmtree(source)
    return InstalledBridge(venv, wheel, time.monotonic() - started)
