"""Settings, read once from the environment into one immutable object.

Secrets come from the environment only; nothing here has a secret default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


class SettingsError(RuntimeError):
    pass


def _get(env: Mapping[str, str], name: str, default: str) -> str:
    """An unset and an empty variable both mean the default (compose passes empties)."""
    return env.get(name) or default


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    keycloak_url: str
    realm: str
    client_id: str
    client_secret: str
    public_url: str
    session_secret: str
    university_name: str
    theme_dir: Path
    support_url: str
    dev_mode: bool = False
    mail_dir: Path | None = None
    portal_client_secret: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        missing = [
            name for name in ("UM_BRIDGE_CLIENT_SECRET", "UM_SESSION_SECRET") if not env.get(name)
        ]
        if missing:
            raise SettingsError(
                "missing required environment variable(s): "
                + ", ".join(missing)
                + " (see README.md, 'Configuration')"
            )
        dev_mode = _flag(env.get("UM_DEV_MODE"))
        mail_dir = env.get("UM_MAIL_DIR")
        return cls(
            keycloak_url=_get(env, "UM_KEYCLOAK_URL", "http://localhost:8080").rstrip("/"),
            realm=_get(env, "UM_REALM", "um"),
            client_id=_get(env, "UM_BRIDGE_CLIENT_ID", "bridge"),
            client_secret=env["UM_BRIDGE_CLIENT_SECRET"],
            public_url=_get(env, "UM_BRIDGE_URL", "http://localhost:8000").rstrip("/"),
            session_secret=env["UM_SESSION_SECRET"],
            university_name=_get(env, "UM_UNIVERSITY_NAME", "Université de Montpellier"),
            theme_dir=Path(_get(env, "UM_THEME_DIR", str(REPO_ROOT / "themes" / "um-activation"))),
            support_url=_get(env, "UM_SUPPORT_URL", "https://assistance.umontpellier.example/"),
            dev_mode=dev_mode,
            # The mail viewer exists only in dev mode: it shows every mail sent.
            mail_dir=Path(mail_dir) if (dev_mode and mail_dir) else None,
            portal_client_secret=env.get("UM_PORTAL_CLIENT_SECRET") or None,
        )

    @property
    def https(self) -> bool:
        return self.public_url.startswith("https://")
