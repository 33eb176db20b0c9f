"""Student pages that need no account: the home page, the help page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from bridge.web.templating import render


async def home(request: Request) -> Response:
    return render(request, "home.html")


async def help_page(request: Request) -> Response:
    """SPEC F9: the seeds' "En savoir plus", as a page."""
    return render(request, "help.html")
