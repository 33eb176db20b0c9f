"""Student pages that need no account: the home page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from bridge.web.templating import render


async def home(request: Request) -> Response:
    return render(request, "home.html")
