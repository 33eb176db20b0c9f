from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from bridge import i18n
from bridge.web.locales import choice_of, switch_links

TEMPLATE_DIR = Path(__file__).parent / "templates"


def deployment_words(request: Request) -> dict[str, str]:
    """The deployment's own words on every page, in the reader's language when they are the
    catalogue's defaults (bridge/settings.py); an operator's values come out as written."""
    settings = request.app.state.settings
    return {
        "university_name": i18n.gettext(settings.university_name),
        "desk_name": i18n.gettext(settings.desk_name),
        "desk_room": i18n.gettext(settings.desk_room),
        "desk_hours": i18n.gettext(settings.desk_hours),
        # gettext("") would be the catalogue's header: no note stays no note.
        "desk_note": i18n.gettext(settings.desk_note) if settings.desk_note else "",
    }


def make_templates() -> Jinja2Templates:
    # Jinja2Templates turns autoescaping on for .html: provisioned names are data, not markup.
    templates = Jinja2Templates(directory=str(TEMPLATE_DIR), context_processors=[deployment_words])
    # Every sentence of the templates comes from the message catalogue ({% trans %}, _()).
    i18n.install(templates.env)
    templates.env.globals["language_links"] = switch_links
    return templates


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    templates: Jinja2Templates = request.app.state.templates
    # In the reader's language even where the page is made outside the locale middleware
    # (Starlette's 500 handler).
    with i18n.use_locale(choice_of(request).locale):
        return templates.TemplateResponse(request, name, context or {}, status_code=status_code)
