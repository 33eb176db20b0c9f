"""docker-compose.yml, run without containers: what each service would be given, turned
into what a native process on this machine needs (tests/production/, the production-shape
stage).

The file is loaded by compose's own loader (scripts/compose-config: compose-go, what
`docker compose config` runs), with an env file in place of the deployment's `.env`. Then
each service's environment is translated, and nothing else changed:
- `service:port` (a compose service's name and container port, in a URL or an address)
  becomes the native address that stands for it (`127.0.0.1:<free port>`);
- a path inside a container that a volume mounts becomes the host path mounted there
  (a named volume: a directory the caller gives).
A value the translation does not know stays as compose wrote it, so a service name that
no native address stands for fails loudly where it is used.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.keycloak import REPO_ROOT

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"


class ComposeError(RuntimeError):
    pass


def load(env_file: Path, profiles: tuple[str, ...] = (), file: Path = COMPOSE_FILE) -> Any:
    """The project as `docker compose config --format json` prints it (interpolated with
    `env_file` alone: the caller's own environment never leaks in)."""
    result = subprocess.run(  # noqa: S603 - fixed argv
        [
            str(REPO_ROOT / "scripts" / "compose-config"),
            str(file),
            str(env_file),
            *profiles,
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=file.parent,
    )
    if result.returncode != 0:
        raise ComposeError(f"compose refused {file.name}:\n{result.stderr.strip()}")
    return json.loads(result.stdout)


def write_env_file(path: Path, values: Mapping[str, str]) -> Path:
    """A `.env` as an operator writes it (one NAME=value a line, unquoted: the values used
    here hold no quote, `$`, `#` or line break)."""
    for name, value in values.items():
        if re.search(r"[\n\"'$#]", value) or value != value.strip():
            raise ComposeError(f"{name}: this value needs quoting in a .env file")
    path.write_text("".join(f"{name}={value}\n" for name, value in values.items()))
    path.chmod(0o600)
    return path


def substitute(template: str, env: Mapping[str, str]) -> str:
    """What the nginx image does to templates/*.template: envsubst restricted to the
    variables defined in its environment (`$NAME` and `${NAME}`); nginx's own `$host`,
    `$remote_addr`... are left alone."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return env[name] if name in env else match.group(0)

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", replace, template)


@dataclass
class Native:
    """How the services of one project map onto this machine."""

    project: Any
    # "service:port" -> "127.0.0.1:port" (what stands for it here)
    addresses: dict[str, str] = field(default_factory=dict)
    # named volume -> directory
    volumes: dict[str, Path] = field(default_factory=dict)

    def service(self, name: str) -> Any:
        try:
            return self.project["services"][name]
        except KeyError:
            raise ComposeError(f"docker-compose.yml has no service {name!r}") from None

    def mounts(self, name: str) -> list[tuple[str, Path]]:
        """(container path, host path), the longest container path first."""
        found = []
        for volume in self.service(name).get("volumes") or []:
            if volume["type"] == "bind":
                found.append((volume["target"], Path(volume["source"])))
            elif volume["type"] == "volume":
                if volume["source"] not in self.volumes:
                    raise ComposeError(f"no directory stands for the volume {volume['source']!r}")
                found.append((volume["target"], self.volumes[volume["source"]]))
        return sorted(found, key=lambda mount: -len(mount[0]))

    def host_path(self, name: str, container_path: str) -> Path:
        for target, source in self.mounts(name):
            if container_path == target or container_path.startswith(target.rstrip("/") + "/"):
                return source / container_path[len(target) :].lstrip("/")
        raise ComposeError(f"{name}: {container_path} is not in a volume")

    def translate(self, name: str, value: str) -> str:
        for address, native in self.addresses.items():
            value = re.sub(rf"(?<![\w.-]){re.escape(address)}(?![\w])", native, value)
        if value.startswith("/"):
            try:
                return str(self.host_path(name, value))
            except ComposeError:
                return value
        return value

    def environment(self, name: str) -> dict[str, str]:
        """The service's environment as compose gives it, translated for this machine."""
        env = self.service(name).get("environment") or {}
        return {key: self.translate(name, value or "") for key, value in env.items()}

    def render(self, name: str, container_path: str, env: Mapping[str, str]) -> str:
        """A file the service reads (from its volumes), with `env` substituted as the nginx
        image does, and with every container path and service address translated."""
        text = substitute(self.host_path(name, container_path).read_text(), env)
        for address, native in self.addresses.items():
            text = re.sub(rf"(?<![\w.-]){re.escape(address)}(?![\w])", native, text)
        for target, source in self.mounts(name):
            text = text.replace(target.rstrip("/") + "/", str(source).rstrip("/") + "/")
        return text
