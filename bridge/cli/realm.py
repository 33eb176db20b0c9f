"""`bridge realm …`: one-time realm set-up steps, as a Keycloak administrator."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bridge.cli.common import EXIT_OK, EXIT_UNAVAILABLE, EXIT_UNUSABLE_INPUT
from bridge.settings import AdminSettings, SettingsError


def cmd_console_permissions(args: argparse.Namespace) -> int:
    """Once per realm, as an administrator: the fine-grained admin permission that lets
    the staff role manage the members of `students` (docs/console.md)."""
    import asyncio

    from bridge.domain.errors import DomainError
    from bridge.gateway.keycloak import RealmSetup

    try:
        admin = AdminSettings.from_env()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return EXIT_UNUSABLE_INPUT
    gateway = RealmSetup.administrator(
        admin.keycloak_url,
        admin.realm,
        admin.user,
        admin.password,
        user_realm=admin.user_realm,
    )
    try:
        asyncio.run(gateway.ensure_permissions())
    except DomainError as error:
        print(f"could not set the console permission up: {error.detail}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    print("the staff role and the web bridge may manage the members of `students` (no one else)")
    return EXIT_OK


def register(sub: argparse._SubParsersAction[Any]) -> None:
    realm = sub.add_parser("realm", help="one-time realm set-up steps")
    realm_sub = realm.add_subparsers(dest="realm_command", required=True)
    perms = realm_sub.add_parser(
        "console-permissions",
        help="let the staff role and the web bridge manage students only (UM_ADMIN_* variables)",
    )
    perms.set_defaults(func=cmd_console_permissions)
