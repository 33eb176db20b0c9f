from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from bridge import i18n

TEMPLATE_DIR = Path(__file__).parent / "templates"


def make_templates() -> Jinja2Templates:
    # Jinja2Templates turns autoescaping on for .html: provisioned names are data, not markup.
    templates = Jinja2Templates(directory=str(TEMPLATE_DIR))
    # Every sentence of the templates comes from the message catalogue ({% trans %}, _()).
    i18n.install(templates.env)
    return templates


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, name, context or {}, status_code=status_code)
