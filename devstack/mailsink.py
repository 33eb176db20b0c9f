"""The dev SMTP sink: accepts every message on loopback and stores it as an .eml file.

Files are written under a temporary name and renamed, so that a reader (the dev mail page,
a test) never sees half a message.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import os
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

_counter = itertools.count()


class EmlDirectoryHandler:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        name = f"{stamp}-{os.getpid()}-{next(_counter):05d}.eml"
        recipients = ", ".join(envelope.rcpt_tos)
        content: bytes = envelope.original_content or envelope.content
        tmp = self.directory / f".{name}.tmp"
        tmp.write_bytes(f"X-Envelope-To: {recipients}\r\n".encode() + content)
        tmp.rename(self.directory / name)
        return "250 Message accepted for delivery"


def start_mail_sink(directory: Path, host: str = "127.0.0.1", port: int = 1025) -> Controller:
    """Start the sink in a background thread; call .stop() on the result to end it."""
    # aiosmtpd logs each recipient at INFO: rescue addresses have no place in the dev logs.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    controller = Controller(EmlDirectoryHandler(directory), hostname=host, port=port)
    controller.start()
    return controller
