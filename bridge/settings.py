"""Settings, read once from the environment into immutable objects: the one reader of the
environment in `bridge`.

One section per part of the runtime, each with its own `from_env(environ=None)` that
demands only the secrets that part needs: `Settings` (the web bridge), `JobSettings` (the
jobs, as the `provisioning` client), `AdminSettings` (`bridge realm setup`, as a Keycloak
administrator), `SmtpSettings` (`bridge remind`'s relay). Secrets come from the
environment only; nothing here has a secret default. An unset and an empty variable both
mean the default.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bridge.domain.errors import InvalidInput
from bridge.domain.ratelimits import Limits
from bridge.domain.retention import DEFAULT_YEARS, check_years
from bridge.i18n import N_

REPO_ROOT = Path(__file__).resolve().parents[1]


# Shown to students: catalogue msgids, so that the defaults read in the reader's language;
# a deployment's own values (UM_DESK_ROOM, ...) are shown as the operator wrote them.
UNIVERSITY_NAME = N_("Université de Montpellier")
# Seed 004's desk: "adressez-vous au personnel de l'espace numérique (K103)", "il faut vous
# rendre en salle K103 (1er étage du bâtiment K) muni de votre carte étudiant", and its note.
DESK_NAME = N_("l'espace numérique (K103)")
DESK_ROOM = N_("salle K103 (1er étage du bâtiment K)")
DESK_HOURS = N_("du lundi au vendredi, de 9h à 17h")
DESK_NOTE = N_(
    "Pendant la semaine de rentrée, l'espace numérique (K103) est ouvert pour l'activation "
    "de votre compte informatique."
)
# UM_DESK_NOTE set to this shows no note (an empty variable means the default).
NO_NOTE = "-"


class SettingsError(RuntimeError):
    pass


def theme_dir_from(env: Mapping[str, str]) -> Path:
    return Path(_get(env, "UM_THEME_DIR", str(REPO_ROOT / "themes" / "um-activation")))


# What a cookie key must have (UM_SESSION_SECRET, UM_CONSOLE_SESSION_SECRET): README.md.
SECRET_MIN_BYTES = 32
SECRET_MIN_BITS = 128
KEY_RECIPE = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


def estimated_bits(secret: str) -> float:
    """A rough, documented estimate of a secret's entropy: the length times the Shannon
    entropy of the characters' frequencies, a value made of one repeated part counting as
    that part once. A random base64 or hex string scores about what it holds; repeats, runs
    of one character and small alphabets score low."""
    length = len(secret)
    unit = next(
        (secret[:size] for size in range(1, length) if secret == secret[:size] * (length // size)),
        secret,
    )
    counts = Counter(unit).values()
    return -len(unit) * sum(n / len(unit) * math.log2(n / len(unit)) for n in counts)


def _strong_secret(name: str, value: str) -> str:
    """The value, or SettingsError saying why it is refused (never the value itself)."""
    size, bits = len(value.encode()), estimated_bits(value)
    if size < SECRET_MIN_BYTES or bits < SECRET_MIN_BITS:
        raise SettingsError(
            f"{name} is too weak ({size} bytes, about {bits:.0f} bits estimated): it must have "
            f"at least {SECRET_MIN_BYTES} bytes and {SECRET_MIN_BITS} bits (length x Shannon "
            f"entropy of its characters); generate one with {KEY_RECIPE}"
        )
    return value


def university_domains_from(env: Mapping[str, str]) -> tuple[str, ...]:
    """The university's own mail domains, its main one first (UM_UNIVERSITY_DOMAINS):
    refused as rescue addresses, by the bridge and by Keycloak (`bridge realm setup`)."""
    domains = tuple(
        d.strip().lower()
        for d in _get(env, "UM_UNIVERSITY_DOMAINS", "umontpellier.fr").split(",")
        if d.strip()
    )
    if not domains:
        raise SettingsError("UM_UNIVERSITY_DOMAINS names no domain")
    return domains


def _get(env: Mapping[str, str], name: str, default: str) -> str:
    """An unset and an empty variable both mean the default (compose passes empties)."""
    return env.get(name) or default


def _desk_note(value: str) -> str:
    return "" if value.strip() == NO_NOTE else value


def _flag(value: str | None, default: bool = False) -> bool:
    if not value:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _keycloak_url(env: Mapping[str, str]) -> str:
    return _get(env, "UM_KEYCLOAK_URL", "http://localhost:8080").rstrip("/")


def _backchannel_url(env: Mapping[str, str]) -> str:
    """Where this process calls Keycloak itself (tokens, keys, the admin API): an internal
    route when the public hostname refuses the admin API (deploy/nginx/, docs/deployment.md);
    by default the public URL. Read only when set, so that a process given only the public
    URL (or only the internal one) is told so by what it reads."""
    return (env.get("UM_KEYCLOAK_INTERNAL_URL") or _keycloak_url(env)).rstrip("/")


def _realm(env: Mapping[str, str]) -> str:
    return _get(env, "UM_REALM", "um")


def _trusted_proxies(raw: str) -> tuple[str, ...]:
    """Addresses or networks; never "everyone": with `*` uvicorn believes the left-most
    X-Forwarded-For entry, which the client writes itself."""
    proxies = tuple(p.strip() for p in raw.split(",") if p.strip())
    for proxy in proxies:
        try:
            network = ipaddress.ip_network(proxy, strict=False)
        except ValueError as error:
            raise SettingsError(f"UM_TRUSTED_PROXIES: {proxy!r} is not an address") from error
        if network.prefixlen == 0:
            raise SettingsError("UM_TRUSTED_PROXIES must name the proxies, not every address")
    return proxies


def _limits(env: Mapping[str, str]) -> Limits:
    """docs/security.md, "No lockout by a stranger": what each number stands for."""

    def number(name: str, default: int) -> int:
        return int(_get(env, name, str(default)))

    def seconds(name: str, default: dt.timedelta) -> dt.timedelta:
        return dt.timedelta(seconds=number(name, int(default.total_seconds())))

    if env.get("UM_INE_FAILURES_PER_DAY"):
        # Ignoring it would leave the operator believing in a limit that no longer exists.
        raise SettingsError(
            "UM_INE_FAILURES_PER_DAY no longer exists: wrong INEs are counted per network "
            "(UM_INE_FAILURES_PER_NETWORK), then spaced (UM_INE_BACKOFF, UM_BACKOFF_CAP); "
            "see docs/security.md"
        )
    base = Limits()
    return Limits(
        mails_per_network=number("UM_MAILS_PER_NETWORK", base.mails_per_network),
        mails_per_day=number("UM_MAILS_PER_DAY", base.mails_per_day),
        resend_interval=seconds("UM_RESEND_INTERVAL", base.resend_interval),
        ine_failures_per_network=number(
            "UM_INE_FAILURES_PER_NETWORK", base.ine_failures_per_network
        ),
        ine_backoff=seconds("UM_INE_BACKOFF", base.ine_backoff),
        backoff_cap=seconds("UM_BACKOFF_CAP", base.backoff_cap),
        lookups_per_hour=number("UM_LOOKUPS_PER_HOUR", base.lookups_per_hour),
        mails_per_minute=number("UM_MAILS_PER_MINUTE", base.mails_per_minute),
    )


def retention_years_from(env: Mapping[str, str]) -> int:
    raw = _get(env, "UM_RETENTION_YEARS", str(DEFAULT_YEARS))
    try:
        return check_years(int(raw))
    except (ValueError, InvalidInput) as error:
        raise SettingsError(
            f"UM_RETENTION_YEARS: a whole number of years, 1 to 50 ({raw!r})"
        ) from error


@dataclass(frozen=True)
class Settings:
    # The public URL (browsers, issuer, the pages' form targets) and the one this process
    # calls Keycloak by (UM_KEYCLOAK_INTERNAL_URL; the public one when unset).
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
    # Keys the console's encrypted cookie (required with the console; not the session's).
    console_session_secret: str | None = None
    portal_url: str = "http://localhost:8000/portal"
    # Where activation and lost-password links land once the student is done: the
    # portal's login, so that the student signs in once with the new password.
    action_client_id: str = "portal"
    action_redirect_uri: str = "http://localhost:8000/portal/login"
    university_domains: tuple[str, ...] = ("umontpellier.fr",)
    limits: Limits = field(default_factory=Limits)
    # Per client network: (requests, window in seconds) on the students' forms, the hard
    # ceiling; past `challenge_after` posts each one needs a proof of work (below).
    address_limit: tuple[int, int] = (300, 600)
    # The deployment's IT charter: accepted on the activation path when enabled.
    charter: bool = False
    # The in-person desk for students without a rescue email or an INE on file (seed 004:
    # its staff, "le personnel de <desk_name>", in <desk_room>), and the note shown wherever
    # it is offered ("" for none).
    desk_name: str = DESK_NAME
    desk_room: str = DESK_ROOM
    desk_hours: str = DESK_HOURS
    desk_note: str = DESK_NOTE
    # The counters of the limits, shared by every replica; unset: in this process only,
    # which holds for one replica (bridge.flows.counters).
    redis_url: str | None = None
    # The reverse proxies whose X-Forwarded-For is believed (addresses or networks); none:
    # the peer's own address is the client's.
    trusted_proxies: tuple[str, ...] = ()
    # The proof of work (ALTCHA, docs/security.md): once a client network has made this
    # many student form posts in the address limit's window, each further post needs a
    # solved challenge; 0 asks it of every post, the ceiling or more never.
    challenge_after: int = 10
    # PBKDF2 iterations per attempt; the browser makes 5,000 to 10,000 attempts.
    challenge_cost: int = 5000
    keycloak_backchannel_url: str = ""
    # How long an account stays expired before an administrator may anonymise it
    # (docs/lifecycle.md, "Retention"); `bridge retention --years` defaults to the same.
    retention_years: int = DEFAULT_YEARS

    def __post_init__(self) -> None:
        if not self.keycloak_backchannel_url:
            object.__setattr__(self, "keycloak_backchannel_url", self.keycloak_url)

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
        session_secret = _strong_secret("UM_SESSION_SECRET", env["UM_SESSION_SECRET"])
        console_client_secret = env.get("UM_CONSOLE_CLIENT_SECRET") or None
        console_session_secret = env.get("UM_CONSOLE_SESSION_SECRET") or None
        if console_client_secret and not console_session_secret:
            raise SettingsError(
                "UM_CONSOLE_SESSION_SECRET is required with UM_CONSOLE_CLIENT_SECRET (it keys "
                f"the console's cookie); generate one with {KEY_RECIPE}"
            )
        if console_session_secret:
            _strong_secret("UM_CONSOLE_SESSION_SECRET", console_session_secret)
            if console_session_secret == session_secret:
                raise SettingsError("UM_CONSOLE_SESSION_SECRET must differ from UM_SESSION_SECRET")
        dev_mode = _flag(env.get("UM_DEV_MODE"))
        mail_dir = env.get("UM_MAIL_DIR")
        public_url = _get(env, "UM_BRIDGE_URL", "http://localhost:8000").rstrip("/")
        requests, _, window = _get(env, "UM_ADDRESS_LIMIT", "300/600").partition("/")
        try:
            limits = _limits(env)
            address_limit = (int(requests), int(window or "600"))
        except ValueError as error:
            raise SettingsError(f"a rate-limit variable is not a whole number: {error}") from error
        counts = (
            limits.mails_per_network,
            limits.mails_per_day,
            limits.ine_failures_per_network,
            limits.lookups_per_hour,
            limits.mails_per_minute,
            int(limits.backoff_cap.total_seconds()),
        )
        intervals = (limits.resend_interval, limits.ine_backoff)
        if min(*counts, *address_limit) < 1 or min(intervals) < dt.timedelta(0):
            # A zero window divides by zero; a zero ceiling refuses everyone, for ever.
            raise SettingsError(
                "rate limits must be positive (UM_RESEND_INTERVAL and UM_INE_BACKOFF may be 0)"
            )
        try:
            challenge_after = int(_get(env, "UM_CHALLENGE_AFTER", "10"))
            challenge_cost = int(_get(env, "UM_CHALLENGE_COST", "5000"))
        except ValueError as error:
            raise SettingsError(f"UM_CHALLENGE_* is not a whole number: {error}") from error
        if challenge_after < 0 or challenge_cost < 1:
            raise SettingsError("UM_CHALLENGE_AFTER must be 0 or more, UM_CHALLENGE_COST positive")
        portal_url = _get(env, "UM_PORTAL_URL", f"{public_url}/portal").rstrip("/")
        action_client_id = _get(env, "UM_ACTION_CLIENT_ID", "portal")
        action_redirect_uri = _get(env, "UM_ACTION_REDIRECT_URI", f"{portal_url}/login")
        if action_client_id == "portal" and not action_redirect_uri.startswith(f"{portal_url}/"):
            # Keycloak would refuse every action link at the end of the student's path:
            # the portal client registers `${UM_PORTAL_URL}/*` only (realm/um-realm.json).
            raise SettingsError(
                f"UM_ACTION_REDIRECT_URI ({action_redirect_uri}) must be a page under "
                f"UM_PORTAL_URL ({portal_url}/...), which the portal client registers"
            )
        return cls(
            keycloak_url=_keycloak_url(env),
            keycloak_backchannel_url=_backchannel_url(env),
            realm=_realm(env),
            client_id=_get(env, "UM_BRIDGE_CLIENT_ID", "bridge"),
            client_secret=env["UM_BRIDGE_CLIENT_SECRET"],
            public_url=public_url,
            session_secret=session_secret,
            university_name=_get(env, "UM_UNIVERSITY_NAME", UNIVERSITY_NAME),
            theme_dir=theme_dir_from(env),
            support_url=_get(env, "UM_SUPPORT_URL", "https://assistance.umontpellier.example/"),
            dev_mode=dev_mode,
            # The mail viewer exists only in dev mode: it shows every mail sent.
            mail_dir=Path(mail_dir) if (dev_mode and mail_dir) else None,
            portal_client_secret=env.get("UM_PORTAL_CLIENT_SECRET") or None,
            console_client_id=_get(env, "UM_CONSOLE_CLIENT_ID", "bridge-console"),
            console_client_secret=console_client_secret,
            console_session_secret=console_session_secret,
            portal_url=portal_url,
            action_client_id=action_client_id,
            action_redirect_uri=action_redirect_uri,
            university_domains=university_domains_from(env),
            limits=limits,
            address_limit=address_limit,
            charter=_flag(env.get("UM_CHARTER")),
            desk_name=_get(env, "UM_DESK_NAME", DESK_NAME),
            desk_room=_get(env, "UM_DESK_ROOM", DESK_ROOM),
            desk_hours=_get(env, "UM_DESK_HOURS", DESK_HOURS),
            desk_note=_desk_note(_get(env, "UM_DESK_NOTE", DESK_NOTE)),
            redis_url=env.get("UM_REDIS_URL") or None,
            trusted_proxies=_trusted_proxies(env.get("UM_TRUSTED_PROXIES", "")),
            challenge_after=challenge_after,
            challenge_cost=challenge_cost,
            retention_years=retention_years_from(env),
        )

    @property
    def https(self) -> bool:
        return self.public_url.startswith("https://")


@dataclass(frozen=True)
class JobSettings:
    """The jobs (provision, expire, remind, activation-keys) act as the `provisioning`
    client's service account (docs/lifecycle.md lists its roles)."""

    keycloak_url: str
    realm: str
    client_id: str
    client_secret: str
    # What `provision` applied (SQLite); `--state` overrides it.
    provision_state: Path | None = None
    # The SIS export `provision` reads when no file is named (the scheduler's runs).
    sis_export: Path | None = None
    # The store the bridge's replicas share (UM_REDIS_URL): the jobs' writes to an account
    # take turns with theirs (Gateway.serialize_writes). Unset: no turns taken.
    redis_url: str | None = None
    # eduPersonPrincipalName's scope: the first of UM_UNIVERSITY_DOMAINS, the university's
    # own domain (bridge.domain.supann).
    principal_scope: str = "umontpellier.fr"
    # `bridge retention --years`' default: the console's rule (UM_RETENTION_YEARS).
    retention_years: int = DEFAULT_YEARS
    # The bounce address's mailbox, which `bridge bounces` reads (docs/operations.md): IMAP
    # (imaps://user:password@host/FOLDER), else a Maildir; neither: the job has nothing to do.
    bounce_imap_url: str | None = None
    bounce_maildir: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> JobSettings:
        env = os.environ if environ is None else environ
        secret = env.get("UM_PROVISIONING_CLIENT_SECRET")
        if not secret:
            raise SettingsError(
                "set UM_PROVISIONING_CLIENT_SECRET (the provisioning client's secret)"
            )
        state = env.get("UM_PROVISION_STATE")
        export = env.get("UM_SIS_EXPORT")
        return cls(
            keycloak_url=_backchannel_url(env),
            realm=_realm(env),
            client_id=_get(env, "UM_PROVISIONING_CLIENT_ID", "provisioning"),
            client_secret=secret,
            provision_state=Path(state) if state else None,
            sis_export=Path(export) if export else None,
            redis_url=env.get("UM_REDIS_URL") or None,
            principal_scope=university_domains_from(env)[0],
            retention_years=retention_years_from(env),
            bounce_imap_url=env.get("UM_BOUNCE_IMAP_URL") or None,
            bounce_maildir=Path(env["UM_BOUNCE_MAILDIR"]) if env.get("UM_BOUNCE_MAILDIR") else None,
        )


@dataclass(frozen=True)
class AdminSettings:
    """A Keycloak administrator, for the one-time realm set-up steps (docs/console.md)."""

    keycloak_url: str
    realm: str
    user: str
    password: str
    # The realm the administrator signs in to.
    user_realm: str = "master"
    # The bridge's own settings, which `bridge realm setup` writes into the realm (the
    # rescue-address rule, the charter's version): the same variables, the same defaults.
    university_domains: tuple[str, ...] = ("umontpellier.fr",)
    theme_dir: Path = REPO_ROOT / "themes" / "um-activation"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AdminSettings:
        env = os.environ if environ is None else environ
        password = env.get("UM_ADMIN_PASSWORD")
        if not password:
            raise SettingsError("set UM_ADMIN_USER (default admin) and UM_ADMIN_PASSWORD")
        return cls(
            keycloak_url=_backchannel_url(env),
            realm=_realm(env),
            user=_get(env, "UM_ADMIN_USER", "admin"),
            password=password,
            user_realm=_get(env, "UM_ADMIN_REALM", "master"),
            university_domains=university_domains_from(env),
            theme_dir=theme_dir_from(env),
        )


@dataclass(frozen=True)
class SmtpSettings:
    """The university's SMTP relay, for `bridge remind` (Keycloak sends its own mails with
    the realm's settings). An empty `host` means none is configured."""

    host: str
    port: int = 587
    sender: str = "ne-pas-repondre@umontpellier.example"
    sender_name: str = "Compte informatique"
    starttls: bool = True
    ssl: bool = False
    user: str = ""
    password: str = ""
    # The envelope sender (MAIL FROM), where refusals come back (UM_BOUNCE_ADDRESS, also
    # Keycloak's `envelopeFrom`); empty: the From address, as before.
    bounce_address: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SmtpSettings:
        env = os.environ if environ is None else environ
        try:
            port = int(_get(env, "UM_SMTP_PORT", "587"))
        except ValueError as error:
            raise SettingsError(f"UM_SMTP_PORT is not a whole number: {error}") from error
        return cls(
            host=env.get("UM_SMTP_HOST") or "",
            port=port,
            sender=_get(env, "UM_SMTP_FROM", "ne-pas-repondre@umontpellier.example"),
            sender_name=_get(env, "UM_SMTP_FROM_NAME", "Compte informatique"),
            starttls=_flag(env.get("UM_SMTP_STARTTLS"), default=True),
            ssl=_flag(env.get("UM_SMTP_SSL"), default=False),
            user=env.get("UM_SMTP_USER") or "",
            password=env.get("UM_SMTP_PASSWORD") or "",
            bounce_address=_bounce_address(env),
        )


def _bounce_address(env: Mapping[str, str]) -> str:
    address = (env.get("UM_BOUNCE_ADDRESS") or "").strip()
    if address and ("@" not in address or any(c in address for c in " \t\r\n<>,;")):
        raise SettingsError(f"UM_BOUNCE_ADDRESS is not an address: {address!r}")
    return address
