"""Settings, read once from the environment into one immutable object.

Secrets come from the environment only; nothing here has a secret default.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bridge.domain.ratelimits import Limits

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
    # The staff console (/console) exists when its client's secret is set.
    console_client_id: str = "bridge-console"
    console_client_secret: str | None = None
    portal_url: str = "http://localhost:8000/portal"
    # Where activation and lost-password links land once the student is done: the
    # portal's login, so that the student signs in once with the new password.
    action_client_id: str = "portal"
    action_redirect_uri: str = "http://localhost:8000/portal/login"
    university_domains: tuple[str, ...] = ("umontpellier.fr",)
    limits: Limits = field(default_factory=Limits)
    # Per client address, per replica: (requests, window in seconds) on the students' forms.
    address_limit: tuple[int, int] = (30, 600)
    # The deployment's IT charter: accepted on the activation path when enabled.
    charter: bool = False
    # The in-person desk for students without a rescue email (seed 004: room K103).
    desk_room: str = "salle K103 (1er étage du bâtiment K)"
    desk_hours: str = "du lundi au vendredi, de 9h à 17h"

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
        public_url = _get(env, "UM_BRIDGE_URL", "http://localhost:8000").rstrip("/")
        requests, _, window = _get(env, "UM_ADDRESS_LIMIT", "30/600").partition("/")
        try:
            limits = Limits(
                mails_per_day=int(_get(env, "UM_MAILS_PER_DAY", "5")),
                resend_interval=dt.timedelta(seconds=int(_get(env, "UM_RESEND_INTERVAL", "60"))),
                ine_failures_per_day=int(_get(env, "UM_INE_FAILURES_PER_DAY", "5")),
            )
            address_limit = (int(requests), int(window or "600"))
        except ValueError as error:
            raise SettingsError(f"a rate-limit variable is not a whole number: {error}") from error
        return cls(
            keycloak_url=_get(env, "UM_KEYCLOAK_URL", "http://localhost:8080").rstrip("/"),
            realm=_get(env, "UM_REALM", "um"),
            client_id=_get(env, "UM_BRIDGE_CLIENT_ID", "bridge"),
            client_secret=env["UM_BRIDGE_CLIENT_SECRET"],
            public_url=public_url,
            session_secret=env["UM_SESSION_SECRET"],
            university_name=_get(env, "UM_UNIVERSITY_NAME", "Université de Montpellier"),
            theme_dir=Path(_get(env, "UM_THEME_DIR", str(REPO_ROOT / "themes" / "um-activation"))),
            support_url=_get(env, "UM_SUPPORT_URL", "https://assistance.umontpellier.example/"),
            dev_mode=dev_mode,
            # The mail viewer exists only in dev mode: it shows every mail sent.
            mail_dir=Path(mail_dir) if (dev_mode and mail_dir) else None,
            portal_client_secret=env.get("UM_PORTAL_CLIENT_SECRET") or None,
            console_client_id=_get(env, "UM_CONSOLE_CLIENT_ID", "bridge-console"),
            console_client_secret=env.get("UM_CONSOLE_CLIENT_SECRET") or None,
            portal_url=_get(env, "UM_PORTAL_URL", f"{public_url}/portal").rstrip("/"),
            action_client_id=_get(env, "UM_ACTION_CLIENT_ID", "portal"),
            action_redirect_uri=_get(env, "UM_ACTION_REDIRECT_URI", f"{public_url}/portal/login"),
            university_domains=tuple(
                d.strip().lower()
                for d in _get(env, "UM_UNIVERSITY_DOMAINS", "umontpellier.fr").split(",")
                if d.strip()
            ),
            limits=limits,
            address_limit=address_limit,
            charter=_flag(env.get("UM_CHARTER")),
            desk_room=_get(env, "UM_DESK_ROOM", "salle K103 (1er étage du bâtiment K)"),
            desk_hours=_get(env, "UM_DESK_HOURS", "du lundi au vendredi, de 9h à 17h"),
        )

    @property
    def https(self) -> bool:
        return self.public_url.startswith("https://")
