"""`bridge realm …`: one-time realm set-up steps, as a Keycloak administrator."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from bridge.cli.common import EXIT_OK, EXIT_UNAVAILABLE, EXIT_UNUSABLE_INPUT
from bridge.settings import AdminSettings, SettingsError


def _gateway(admin: AdminSettings) -> Any:
    from bridge.gateway.keycloak import RealmSetup

    return RealmSetup.administrator(
        admin.keycloak_url,
        admin.realm,
        admin.user,
        admin.password,
        user_realm=admin.user_realm,
    )


def cmd_console_permissions(args: argparse.Namespace) -> int:
    """Once per realm, as an administrator: the fine-grained admin permission that lets
    the staff role manage the members of `students` (docs/console.md)."""
    import asyncio

    from bridge.domain.errors import DomainError

    try:
        admin = AdminSettings.from_env()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return EXIT_UNUSABLE_INPUT
    gateway = _gateway(admin)
    try:
        asyncio.run(gateway.ensure_permissions())
    except DomainError as error:
        print(f"could not set the console permission up: {error.detail}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    print("the staff role and the web bridge may manage the members of `students` (no one else)")
    return EXIT_OK


def cmd_setup(args: argparse.Namespace) -> int:
    """At every deployment, as an administrator: the permissions, the rescue-address rule
    (UM_UNIVERSITY_DOMAINS) and the IT charter's version (UM_THEME_DIR's charter files)
    written into the realm (docs/keycloak.md). Idempotent."""
    import asyncio

    from bridge.domain.errors import DomainError
    from bridge.gateway.keycloak.charter import CharterError, charter_version

    try:
        admin = AdminSettings.from_env()
        version = charter_version(admin.theme_dir)
    except (SettingsError, CharterError) as error:
        print(error, file=sys.stderr)
        return EXIT_UNUSABLE_INPUT
    gateway = _gateway(admin)

    async def run() -> tuple[bool, int]:
        await gateway.ensure_permissions()
        await gateway.ensure_rescue_email_rule(admin.university_domains)
        recorded = await gateway.ensure_charter(version, int(time.time()))
        return recorded, await gateway.university_addresses(admin.university_domains)

    try:
        recorded, held = asyncio.run(run())
    except DomainError as error:
        print(f"could not set the realm up: {error.detail}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    print("the staff role and the web bridge may manage the members of `students` (no one else)")
    domains = ", ".join(admin.university_domains) or "none"
    print(f"rescue addresses refused by Keycloak on the university's domains: {domains}")
    if held:
        print(
            f"warning: {held} account(s) hold a rescue address on those domains; Keycloak "
            "refuses every write of such an account until its address changes",
            file=sys.stderr,
        )
    print(f"IT charter in force: {version}" + (" (newly recorded)" if recorded else ""))
    return EXIT_OK


def register(sub: argparse._SubParsersAction[Any]) -> None:
    realm = sub.add_parser("realm", help="one-time realm set-up steps")
    realm_sub = realm.add_subparsers(dest="realm_command", required=True)
    setup = realm_sub.add_parser(
        "setup",
        help="permissions, rescue-address rule and IT charter version (UM_ADMIN_* variables)",
    )
    setup.set_defaults(func=cmd_setup)
    perms = realm_sub.add_parser(
        "console-permissions",
        help="let the staff role and the web bridge manage students only (UM_ADMIN_* variables)",
    )
    perms.set_defaults(func=cmd_console_permissions)
