"""Dev-only viewer of the mails the local SMTP sink stored under var/mail/.

Mounted only when UM_DEV_MODE is on: it shows every mail, links included.
"""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bridge.web.templating import render

SAFE_NAME = re.compile(r"^[0-9A-Za-z_.-]+\.eml$")


def read_message(path: Path) -> EmailMessage:
    with path.open("rb") as stream:
        message = email.message_from_binary_file(stream, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def text_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    return part.get_content() if part is not None else ""


async def mail_list(request: Request) -> Response:
    mail_dir: Path = request.app.state.settings.mail_dir
    rows = []
    for path in sorted(mail_dir.glob("*.eml"), reverse=True)[:200]:
        message = read_message(path)
        rows.append(
            {
                "name": path.name,
                "to": message["To"],
                "subject": message["Subject"],
                "date": message["Date"],
            }
        )
    return render(request, "dev_mail_list.html", {"rows": rows})


async def mail_detail(request: Request) -> Response:
    mail_dir: Path = request.app.state.settings.mail_dir
    name = request.path_params["name"]
    path = mail_dir / name
    if not SAFE_NAME.match(name) or not path.is_file():
        raise HTTPException(404)
    message = read_message(path)
    return render(
        request,
        "dev_mail_detail.html",
        {"name": name, "message": message, "body": text_body(message)},
    )


routes: list[BaseRoute] = [
    Route("/dev/mail", mail_list, name="dev_mail"),
    Route("/dev/mail/{name}", mail_detail),
]
