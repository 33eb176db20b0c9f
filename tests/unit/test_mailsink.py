from __future__ import annotations

import email
import email.policy
import smtplib
import socket
from email.message import EmailMessage
from pathlib import Path

from devstack.mailsink import start_mail_sink


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_each_message_becomes_one_eml_file(tmp_path: Path) -> None:
    port = _free_port()
    sink = start_mail_sink(tmp_path, port=port)
    try:
        for n in range(3):
            message = EmailMessage()
            message["From"] = "kc@example.org"
            message["To"] = f"student{n}@example.org"
            message["Subject"] = f"Lien n°{n}"
            message.set_content("Bonjour, voici le lien.")
            with smtplib.SMTP("127.0.0.1", port) as smtp:
                smtp.send_message(message)
    finally:
        sink.stop()
    files = sorted(tmp_path.glob("*.eml"))
    assert len(files) == 3
    assert not list(tmp_path.glob(".*.tmp"))
    parsed = [email.message_from_bytes(f.read_bytes(), policy=email.policy.default) for f in files]
    assert sorted(str(m["Subject"]) for m in parsed) == ["Lien n°0", "Lien n°1", "Lien n°2"]
    assert all(m["X-Envelope-To"] == m["To"] for m in parsed)
