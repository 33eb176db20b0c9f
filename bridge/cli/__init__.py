"""`bridge` command line: the web bridge, the jobs, and the one-time realm set-up.

One module per command group, each adding its commands to the parser (`register`);
settings come from `bridge.settings`, never from the environment directly. The dev tooling
is `python -m devstack`, outside the runtime package.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bridge.cli import bounces, jobs, provision, realm, retention, serve

DESCRIPTION = "`bridge` command line: the web bridge, the jobs, and the one-time realm set-up."


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bridge", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)
    serve.register(sub)
    realm.register(sub)
    provision.register(sub)
    jobs.register(sub)
    retention.register(sub)
    bounces.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
