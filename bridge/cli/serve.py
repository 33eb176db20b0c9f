"""`bridge serve`: the web bridge (settings from the UM_* variables, bridge.settings)."""

from __future__ import annotations

import argparse
from typing import Any


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from bridge.app import create_app
    from bridge.logconfig import LOG_CONFIG
    from bridge.settings import Settings

    settings = Settings.from_env()
    # X-Forwarded-For is believed only from UM_TRUSTED_PROXIES, and then uvicorn takes the
    # right-most address that is not a trusted proxy's: what the client itself wrote in
    # the header (the left of it) is never the address the limits count.
    trusted = ",".join(settings.trusted_proxies)
    uvicorn.run(
        create_app(settings),
        log_config=LOG_CONFIG,
        host=args.host,
        port=args.port,
        proxy_headers=bool(trusted),
        forwarded_allow_ips=trusted or None,
    )
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    serve = sub.add_parser("serve", help="run the web bridge (settings from UM_* variables)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=cmd_serve)
