"""Run the pinned Keycloak on this machine: fetch, verify, unpack, install, start, stop.

Used by `make dev` and by the test session. Production runs the official image instead
(docker-compose.yml) with the same version, realm and theme.

Why 26.5.6: the newest patch release of the last 26.x line before 26.7, whose 26.7.1 and
26.7.2 releases were reported 30-40x slower on admin calls (keycloak #52042, #51554,
#51523). 26.5 has everything this project relies on: fine-grained admin permissions v2
(26.2+), the UPDATE_EMAIL required action, the declarative user profile. See
docs/keycloak.md for the measurements.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import re
import shutil
import signal
import ssl
import subprocess
import time
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from devstack.tls import LocalTls

KEYCLOAK_VERSION = "26.5.6"
# SHA-256 of org.keycloak:keycloak-quarkus-dist:26.5.6:zip, recorded when the version was
# pinned. Maven checks the repository's own SHA-1 (-C); this pins the bytes we reviewed.
KEYCLOAK_SHA256 = "490189d9dff05272432d51f71a069462eeca97f2920a694d539a1e6c26a5a347"
SUPPORTED_JDKS = (25, 21, 17)

REPO_ROOT = Path(__file__).resolve().parents[1]
THEME_NAME = "um-activation"


class KeycloakRunnerError(RuntimeError):
    """The runner could not fetch, install or start Keycloak; the message says why."""


def cache_dir() -> Path:
    base = os.environ.get("UM_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "um-accounts"
    )
    return Path(base)


# --- JDK -----------------------------------------------------------------------------


def java_major_version(java: Path) -> int | None:
    try:
        out = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def find_java_home() -> tuple[Path, int]:
    """The newest JDK that Keycloak supports (25, 21, 17). UM_JAVA_HOME overrides."""
    candidates: list[Path] = []
    if os.environ.get("UM_JAVA_HOME"):
        candidates.append(Path(os.environ["UM_JAVA_HOME"]))
    jvm = Path("/usr/lib/jvm")
    if jvm.is_dir():
        candidates += sorted(p for p in jvm.iterdir() if p.is_dir() and not p.is_symlink())
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]))
    found: dict[int, Path] = {}
    for home in candidates:
        java = home / "bin" / "java"
        if java.is_file():
            major = java_major_version(java)
            if major in SUPPORTED_JDKS:
                if os.environ.get("UM_JAVA_HOME") and home == Path(os.environ["UM_JAVA_HOME"]):
                    return home, major
                found.setdefault(major, home)
    for major in SUPPORTED_JDKS:
        if major in found:
            return found[major], major
    raise KeycloakRunnerError(
        "no supported JDK (17, 21 or 25) found under /usr/lib/jvm; scripts/bootstrap installs one"
    )


# --- Distribution ----------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_distribution(version: str = KEYCLOAK_VERSION, sha256: str = KEYCLOAK_SHA256) -> Path:
    """Download (Maven), verify and unpack the distribution once; return its home."""
    root = cache_dir()
    home = root / f"keycloak-{version}"
    if (home / ".um-verified").is_file():
        return home
    m2 = root / "m2"
    zip_path = (
        m2
        / "org"
        / "keycloak"
        / "keycloak-quarkus-dist"
        / version
        / f"keycloak-quarkus-dist-{version}.zip"
    )
    if not zip_path.is_file():
        mvn = shutil.which("mvn")
        if not mvn:
            raise KeycloakRunnerError("Maven (mvn) is missing; scripts/bootstrap installs it")
        cmd = [
            mvn,
            "-B",
            "-q",
            "-C",
            f"-Dmaven.repo.local={m2}",
            "dependency:get",
            f"-Dartifact=org.keycloak:keycloak-quarkus-dist:{version}:zip",
            "-Dtransitive=false",
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode != 0 or not zip_path.is_file():
            raise KeycloakRunnerError(
                f"Maven could not fetch keycloak-quarkus-dist {version}:\n"
                + (result.stdout + result.stderr)[-2000:]
            )
    actual = sha256_of(zip_path)
    if actual != sha256:
        zip_path.unlink()
        raise KeycloakRunnerError(
            f"checksum mismatch for {zip_path.name}: expected {sha256}, got {actual}; "
            "the file was removed, run again to download it afresh"
        )
    staging = root / f".unpack-{version}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(staging)  # a verified archive from Maven Central
    unpacked = staging / f"keycloak-{version}"
    for script in (unpacked / "bin").glob("*.sh"):
        script.chmod(0o755)
    (unpacked / ".um-verified").write_text(actual + "\n")
    shutil.rmtree(home, ignore_errors=True)
    unpacked.rename(home)
    shutil.rmtree(staging, ignore_errors=True)
    return home


def _die_with_parent() -> None:
    """In the child before exec: Linux sends it SIGTERM when the parent dies (kill -9 of
    a test run included), and kc.sh forwards that to Java, so no Keycloak is orphaned."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


# --- Instance --------------------------------------------------------------------------


# The address the dev and test Keycloak believe X-Forwarded-* from (a loopback address no
# other client uses).
TRUSTED_PROXY = "127.0.0.2"


@dataclass
class KeycloakInstance:
    """One Keycloak server with its own copy of the distribution, data and logs.

    Each instance (dev, test session) gets its own directory, so that a test run never
    touches the developer's dev data, and `fresh=True` starts from an empty database
    in which the realm is imported anew.
    """

    directory: Path
    http_port: int = 8080
    management_port: int = 9000
    env: Mapping[str, str] = field(default_factory=dict)
    admin_user: str = "admin"
    admin_password: str = "admin"  # noqa: S105 - dev-only bootstrap admin, overridable
    realm_dir: Path = REPO_ROOT / "realm"
    theme_dir: Path = REPO_ROOT / "themes" / THEME_NAME
    dev_theme_caching: bool = False
    # e.g. PostgresInstance.keycloak_options(); empty: the dev-file H2 database
    db_options: Sequence[str] = ()
    # Set: production mode (`kc.sh start`) over HTTPS with this certificate, as deployed;
    # unset: `start-dev` over HTTP.
    tls: LocalTls | None = None
    process: subprocess.Popen[bytes] | None = None
    java_major: int | None = None

    def __post_init__(self) -> None:
        self.directory = self.directory.resolve()

    @property
    def home(self) -> Path:
        return self.directory / "keycloak"

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://localhost:{self.http_port}"

    @property
    def mode(self) -> str:
        return "production (start, HTTPS)" if self.tls else "development (start-dev)"

    @property
    def log_path(self) -> Path:
        return self.directory / "keycloak.log"

    def install(self, fresh: bool = False) -> None:
        """Copy the distribution once, then (re)install the theme and the realm import."""
        dist = fetch_distribution()
        if fresh:
            shutil.rmtree(self.home / "data", ignore_errors=True)
        if not (self.home / ".um-verified").is_file():
            shutil.rmtree(self.home, ignore_errors=True)
            self.directory.mkdir(parents=True, exist_ok=True)
            shutil.copytree(dist, self.home, symlinks=True)
        themes = self.home / "themes" / THEME_NAME
        if themes.is_symlink() or themes.is_file():
            themes.unlink()
        elif themes.exists():
            shutil.rmtree(themes)
        # A link, not a copy: theme edits show up at once in dev (theme caches are off).
        themes.symlink_to(self.theme_dir.resolve(), target_is_directory=True)
        imports = self.home / "data" / "import"
        imports.mkdir(parents=True, exist_ok=True)
        for old in imports.glob("*.json"):
            old.unlink()
        for realm_file in sorted(self.realm_dir.glob("*.json")):
            shutil.copy2(realm_file, imports / realm_file.name)

    def command(self) -> list[str]:
        common = [
            "--import-realm",
            "--http-host=127.0.0.1",
            "--health-enabled=true",
            "--metrics-enabled=true",
            f"--http-management-port={self.management_port}",
            # As deployed (docker-compose.yml): forwarded headers believed from the proxy
            # only. Here the "proxy" is a loopback address of its own, so that a test can
            # be the proxy or not (tests/integration/test_keycloak_proxy.py).
            "--proxy-headers=xforwarded",
            f"--proxy-trusted-addresses={TRUSTED_PROXY}",
            *self.db_options,
        ]
        if self.tls:
            # What docs/deployment.md prescribes, with a local CA instead of a public one:
            # a fixed hostname, TLS on Keycloak itself, no HTTP listener, caches on.
            return [
                str(self.home / "bin" / "kc.sh"),
                "start",
                *common,
                f"--https-port={self.http_port}",
                f"--https-certificate-file={self.tls.certificate}",
                f"--https-certificate-key-file={self.tls.key}",
                f"--hostname={self.url}",
                "--http-enabled=false",
                # Probes stay plain HTTP on loopback, as behind a load balancer's health check.
                "--http-management-scheme=http",
            ]
        args = [
            str(self.home / "bin" / "kc.sh"),
            "start-dev",
            *common,
            f"--http-port={self.http_port}",
            "--hostname-strict=false",
        ]
        if not self.dev_theme_caching:
            args += [
                "--spi-theme--static-max-age=-1",
                "--spi-theme--cache-themes=false",
                "--spi-theme--cache-templates=false",
            ]
        return args

    def start(self, timeout: float = 300.0) -> None:
        if self.process and self.process.poll() is None:
            return
        java_home, self.java_major = find_java_home()
        env = dict(os.environ)
        env.update(self.env)
        env.update(
            {
                "JAVA_HOME": str(java_home),
                "PATH": f"{java_home / 'bin'}{os.pathsep}{env.get('PATH', '')}",
                "KC_BOOTSTRAP_ADMIN_USERNAME": self.admin_user,
                "KC_BOOTSTRAP_ADMIN_PASSWORD": self.admin_password,
            }
        )
        self.directory.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv
            self.command(),
            cwd=self.home,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        log.close()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.management_port}/health/ready"
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                raise KeycloakRunnerError(
                    f"Keycloak exited with code {self.process.returncode} while starting; "
                    f"last lines of {self.log_path}:\n{self.log_tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            time.sleep(0.5)
        self.stop()
        raise KeycloakRunnerError(
            f"Keycloak was not ready after {timeout:.0f}s; last lines of {self.log_path}:\n"
            + self.log_tail()
        )

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 60.0) -> None:
        """SIGTERM (Keycloak shuts down gracefully), then SIGKILL if it hangs."""
        process, self.process = self.process, None
        if not process or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)

    @property
    def verify(self) -> ssl.SSLContext | bool:
        """What an HTTP client needs to trust this server."""
        return ssl.create_default_context(cafile=str(self.tls.ca)) if self.tls else True

    def admin_token(self) -> str:
        response = httpx.post(
            f"{self.url}/realms/master/protocol/openid-connect/token",
            verify=self.verify,
            data={
                "grant_type": "password",
                "client_id": "admin-cli",
                "username": self.admin_user,
                "password": self.admin_password,
            },
            timeout=30,
        )
        response.raise_for_status()
        return str(response.json()["access_token"])
