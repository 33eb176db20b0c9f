"""Run the pinned Keycloak on this machine: fetch, verify, unpack, install, start, stop.

Used by `make dev` and by the test session. Production runs the official image instead
(docker-compose.yml) with the same version, realm and theme.

Why 26.5.6: the newest patch release of the last 26.x line before 26.7, whose 26.7.1 and
26.7.2 releases were reported 30-40x slower on admin calls (keycloak #52042, #51554,
#51523). 26.7.3 carries that fix but, measured side by side (bench/keycloak_versions.py),
its search by username with the bridge's scoped account is about 1.25x slower and its
throughput under load lower: not moved. 26.5 has everything this project relies on:
fine-grained admin permissions v2 (26.2+), the UPDATE_EMAIL required action, the
declarative user profile. See docs/keycloak.md for the measurements.

UM_KEYCLOAK_VERSION runs another version of KNOWN_VERSIONS instead, for measurements.
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
# The versions the dev tooling can run instead of the pin, for measurements
# (UM_KEYCLOAK_VERSION, bench/keycloak_versions.py): each one's zip SHA-256, recorded after
# Maven fetched it with -C (the repository's SHA-1 checked). Production runs the pin only.
KNOWN_VERSIONS: Mapping[str, str] = {
    KEYCLOAK_VERSION: KEYCLOAK_SHA256,
    "26.7.3": "27a6535553c3cdcd083872ba40629efafb3475e3b758e0c6f691395561dd0f1f",
}
VERSION_VARIABLE = "UM_KEYCLOAK_VERSION"
# In a distribution's home (the cache's and each instance's copy): the zip's SHA-256 on
# the first line, the version on the second. A copy is the right one when its first line
# is the one of the distribution the instance selects.
VERIFIED_MARKER = ".um-verified"
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


def selected_version(environ: Mapping[str, str] | None = None) -> str:
    """The version the dev tooling runs: UM_KEYCLOAK_VERSION if set (one of
    KNOWN_VERSIONS), else the pin."""
    value = (os.environ if environ is None else environ).get(VERSION_VARIABLE, "").strip()
    if not value:
        return KEYCLOAK_VERSION
    if value not in KNOWN_VERSIONS:
        raise KeycloakRunnerError(
            f"{VERSION_VARIABLE}={value!r} is not a known version ("
            + ", ".join(KNOWN_VERSIONS)
            + "): add it to KNOWN_VERSIONS in devstack/keycloak.py with its SHA-256"
        )
    return value


def verified_sha256(home: Path) -> str | None:
    """The zip SHA-256 that a distribution's home was unpacked from (its marker's first
    line; markers written before the version was recorded have only that line)."""
    try:
        lines = (home / VERIFIED_MARKER).read_text().split()
    except OSError:
        return None
    return lines[0] if lines else None


def distribution_zip(version: str) -> Path:
    """Where Maven puts the zip of `version` (the cache's own local repository)."""
    return (
        cache_dir()
        / "m2"
        / "org"
        / "keycloak"
        / "keycloak-quarkus-dist"
        / version
        / f"keycloak-quarkus-dist-{version}.zip"
    )


def download_distribution(version: str) -> Path:
    """The zip of `version` in the cache's Maven repository, fetched by Maven if missing
    (`-C`: Maven fails on a SHA-1 that differs from the repository's). Not verified
    against KNOWN_VERSIONS: fetch_distribution does that; this is also how a new version's
    SHA-256 is taken before it is recorded."""
    zip_path = distribution_zip(version)
    if zip_path.is_file():
        return zip_path
    mvn = shutil.which("mvn")
    if not mvn:
        raise KeycloakRunnerError("Maven (mvn) is missing; scripts/bootstrap installs it")
    cmd = [
        mvn,
        "-B",
        "-q",
        "-C",
        f"-Dmaven.repo.local={cache_dir() / 'm2'}",
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
    return zip_path


def fetch_distribution(version: str | None = None, sha256: str | None = None) -> Path:
    """Download (Maven), verify and unpack the distribution once; return its home.
    `version`: the selected one by default (selected_version); `sha256`: its entry in
    KNOWN_VERSIONS by default."""
    version = version or selected_version()
    if sha256 is None:
        if version not in KNOWN_VERSIONS:
            raise KeycloakRunnerError(f"no recorded SHA-256 for Keycloak {version}")
        sha256 = KNOWN_VERSIONS[version]
    root = cache_dir()
    home = root / f"keycloak-{version}"
    if verified_sha256(home) == sha256:
        return home
    zip_path = download_distribution(version)
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
    (unpacked / VERIFIED_MARKER).write_text(f"{actual}\n{version}\n")
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
# Behind a proxy (`public_url`): the TLS-terminating nginx of the production-shape stage,
# on loopback.
LOOPBACK_PROXY = "127.0.0.1"
# Options of `kc.sh build` (26.5.6: `kc.sh build --help-all`) that this runner passes; the
# others are read at start. `--cache` and `--cache-stack` are runtime options since 26.
BUILD_OPTIONS = (
    "--db",
    "--features",
    "--features-disabled",
    "--health-enabled",
    "--metrics-enabled",
    "--event-metrics-user-enabled",
    "--http-relative-path",
    "--transaction-xa-enabled",
)
# Marker of a `kc.sh build` by this runner, in the instance's distribution: the build
# options it was made with, one a line, then the SHA-256 of BUILD_OUTPUT (where the
# persisted options live), so that a later re-augmentation by a plain `start` with other
# options is noticed.
BUILD_STAMP = ".um-build"
BUILD_OUTPUT = Path("lib") / "quarkus" / "generated-bytecode.jar"


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
    # unset: `start-dev` over HTTP (or behind a proxy, `public_url`).
    tls: LocalTls | None = None
    # Set: production mode (`kc.sh start`) as docker-compose.yml runs it, behind a
    # TLS-terminating proxy on loopback: a plain HTTP listener on 127.0.0.1:http_port,
    # this fixed public URL (the proxy's, e.g. https://localhost:8443) as `--hostname`,
    # back-channel URLs resolved from the request, X-Forwarded-* believed from 127.0.0.1.
    public_url: str | None = None
    # Set (production modes only): a member of an Infinispan cluster over JGroups on
    # 127.0.0.1:cluster_port (jdbc-ping discovery through the shared database; failure
    # detection listens on cluster_port + 50000, so both must be free: devstack.ports).
    cluster_port: int | None = None
    # The Keycloak version this instance runs: UM_KEYCLOAK_VERSION's, or the pin.
    version: str = field(default_factory=selected_version)
    process: subprocess.Popen[bytes] | None = None
    java_major: int | None = None
    # Size of the log when the running process was started: what it wrote comes after.
    log_offset: int = 0

    def __post_init__(self) -> None:
        self.directory = self.directory.resolve()
        if self.tls and self.public_url:
            raise ValueError("tls and public_url exclude each other: TLS ends at the proxy")
        if self.public_url and not re.fullmatch(r"https?://[^/\s]+(/\S*)?", self.public_url):
            raise ValueError(f"public_url must be a full URL: {self.public_url!r}")
        if self.cluster_port is not None and not self.production:
            raise ValueError("cluster_port needs a production mode (tls or public_url)")

    @property
    def home(self) -> Path:
        return self.directory / "keycloak"

    @property
    def production(self) -> bool:
        """`kc.sh start` (TLS on Keycloak, or behind a proxy), not `start-dev`."""
        return bool(self.tls or self.public_url)

    @property
    def url(self) -> str:
        """This server's own listener (behind a proxy: the internal URL, not public_url)."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://localhost:{self.http_port}"

    @property
    def management_url(self) -> str:
        """Health (`/health/ready`) and metrics (`/metrics`), plain HTTP on loopback."""
        return f"http://127.0.0.1:{self.management_port}"

    @property
    def mode(self) -> str:
        if self.tls:
            mode = "production (start, HTTPS)"
        elif self.public_url:
            mode = f"production (start, HTTP behind a proxy at {self.public_url})"
        else:
            return "development (start-dev)"
        return f"{mode}, cluster port {self.cluster_port}" if self.cluster_port else mode

    @property
    def log_path(self) -> Path:
        return self.directory / "keycloak.log"

    def install(self, fresh: bool = False) -> None:
        """Copy the distribution once, then (re)install the theme and the realm import.
        A copy of another version (or of another zip) is replaced, data and build with it."""
        dist = fetch_distribution(self.version)
        if fresh:
            shutil.rmtree(self.home / "data", ignore_errors=True)
        if verified_sha256(self.home) != verified_sha256(dist):
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
        """The argv of `start()`: `start-dev`, or `start` (`--optimized` once `build()` ran
        for these options)."""
        return self._command(optimized=self.is_built())

    def _command(self, optimized: bool) -> list[str]:
        common = [
            "--import-realm",
            "--http-host=127.0.0.1",
            "--health-enabled=true",
            "--metrics-enabled=true",
            # keycloak_user_events_total{event="login",...} on /metrics (26.5: the
            # user-event-metrics feature is on by default; this option is off).
            "--event-metrics-user-enabled=true",
            f"--http-management-port={self.management_port}",
            # As deployed (docker-compose.yml): forwarded headers believed from the proxy
            # only. Here the "proxy" is a loopback address of its own, so that a test can
            # be the proxy or not (tests/integration/test_keycloak_proxy.py); behind a
            # real proxy (public_url), the proxy's own address.
            "--proxy-headers=xforwarded",
            f"--proxy-trusted-addresses={LOOPBACK_PROXY if self.public_url else TRUSTED_PROXY}",
            *self.db_options,
        ]
        if self.production:
            start = [str(self.home / "bin" / "kc.sh"), "start"]
            if optimized:
                # Built by build() for these very options: no check, no re-augmentation.
                start.append("--optimized")
            start += common
        if self.tls:
            # What docs/deployment.md prescribes, with a local CA instead of a public one:
            # a fixed hostname, TLS on Keycloak itself, no HTTP listener, caches on.
            return [
                *start,
                f"--https-port={self.http_port}",
                f"--https-certificate-file={self.tls.certificate}",
                f"--https-certificate-key-file={self.tls.key}",
                f"--hostname={self.url}",
                "--http-enabled=false",
                # Probes stay plain HTTP on loopback, as behind a load balancer's health check.
                "--http-management-scheme=http",
                *self.cluster_options(),
            ]
        if self.public_url:
            # docker-compose.yml's Keycloak: TLS ends at the proxy, which forwards to this
            # plain listener; the public URL is fixed, and calls made to this node's own URL
            # (back channel: token, JWKS) get this node's URLs in the discovery document.
            return [
                *start,
                f"--http-port={self.http_port}",
                "--http-enabled=true",
                f"--hostname={self.public_url}",
                "--hostname-backchannel-dynamic=true",
                *self.cluster_options(),
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

    def cluster_options(self) -> list[str]:
        """Infinispan clustered over JGroups on loopback (the default bind address is a
        site-local one, never loopback); discovery (jdbc-ping) and the JGroups mTLS
        certificate go through the shared database, so every node needs the same one."""
        if self.cluster_port is None:
            return []
        return [
            "--cache=ispn",
            "--cache-embedded-network-bind-address=127.0.0.1",
            f"--cache-embedded-network-bind-port={self.cluster_port}",
        ]

    def build_options(self) -> list[str]:
        """The options of the start command that `kc.sh build` takes (BUILD_OPTIONS)."""
        return [
            arg for arg in self._command(optimized=False) if arg.split("=", 1)[0] in BUILD_OPTIONS
        ]

    @property
    def _build_stamp(self) -> Path:
        return self.home / BUILD_STAMP

    def _stamp_text(self, options: Sequence[str]) -> str:
        output = sha256_of(self.home / BUILD_OUTPUT)
        return "".join(f"{option}\n" for option in options) + f"# {BUILD_OUTPUT} {output}\n"

    def is_built(self) -> bool:
        """`build()` ran in this distribution for the current build options, and nothing
        rebuilt it since."""
        if not self.production:
            return False
        try:
            return self._build_stamp.read_text() == self._stamp_text(self.build_options())
        except OSError:
            return False

    def build(self, timeout: float = 300.0) -> None:
        """`kc.sh build` with this instance's build options, once: then `start --optimized`
        skips the check and the re-augmentation (the first `start` of a copy would do the
        same build in a first JVM, then start a second one). Production modes only."""
        if not self.production:
            raise KeycloakRunnerError("build() is for production modes (start-dev builds itself)")
        if self.is_built():
            return
        options = self.build_options()
        self._build_stamp.unlink(missing_ok=True)
        process = subprocess.Popen(  # noqa: S603 - fixed argv
            [str(self.home / "bin" / "kc.sh"), "build", *options],
            cwd=self.home,
            env=self._environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # kc.sh and its JVM
            process.communicate()
            raise KeycloakRunnerError(f"kc.sh build took more than {timeout:.0f}s") from None
        if process.returncode != 0:
            raise KeycloakRunnerError(
                f"kc.sh build failed ({process.returncode}):\n"
                + output.decode(errors="replace")[-3000:]
            )
        self._build_stamp.write_text(self._stamp_text(options))

    def adopt_build(self, other: KeycloakInstance) -> bool:
        """Take `other`'s build (its `lib/quarkus`) when it was made for the same build
        options, instead of building again; False if it cannot be taken."""
        if not (other.is_built() and other.build_options() == self.build_options()):
            return False
        if self.is_built():
            return True
        self._build_stamp.unlink(missing_ok=True)
        target = self.home / "lib" / "quarkus"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(other.home / "lib" / "quarkus", target, symlinks=True)
        shutil.copy2(other._build_stamp, self._build_stamp)
        return True

    def _environment(self) -> dict[str, str]:
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
        return env

    def start(self, timeout: float = 300.0) -> None:
        """Start and wait until ready; again after stop() or kill(), on the same data."""
        if self.process and self.process.poll() is None:
            return
        env = self._environment()
        self.directory.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.log_offset = log.tell()
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
        url = f"{self.management_url}/health/ready"
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

    def log_since_start(self) -> str:
        """What the running (or last) process wrote: the log is kept across restarts."""
        try:
            with self.log_path.open("rb") as stream:
                stream.seek(self.log_offset)
                return stream.read().decode(errors="replace")
        except OSError:
            return ""

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

    def kill(self) -> None:
        """SIGKILL to the whole process group (kc.sh and its JVM): a node lost, with no
        graceful shutdown (no cluster leave, no cache hand-over). start() restarts it on
        the same data."""
        process, self.process = self.process, None
        if not process or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)

    @property
    def running(self) -> bool:
        return bool(self.process and self.process.poll() is None)

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
