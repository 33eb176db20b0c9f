"""An example relying application ("portal", the ENT stand-in), mounted at /portal."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount, Route

from bridge.web.portal import rescue_change, views
from bridge.web.portal.views import make_oauth

routes: list[BaseRoute] = [
    # A Mount does not answer its bare prefix: /portal itself is the portal's page.
    Route("/portal", views.portal, name="portal"),
    Mount(
        "/portal",
        routes=[
            Route("/login", views.login),
            Route("/callback", views.callback),
            Route("/password", views.change_password),
            Route("/espace-personnel", views.personal_space),
            Route("/espace-personnel/compte-informatique", views.it_account),
            Route("/espace-personnel/compte-informatique/mot-de-passe", views.it_account_password),
            Route(
                "/espace-personnel/compte-informatique/deconnexion-partout",
                views.sign_out_everywhere,
                methods=["POST"],
            ),
            Route(
                "/espace-personnel/compte-informatique/adresse-de-secours",
                rescue_change.ask,
                methods=["GET", "POST"],
            ),
            Route(
                "/espace-personnel/compte-informatique/adresse-de-secours/envoye",
                rescue_change.sent,
            ),
            Route("/adresse-de-secours/confirmer", rescue_change.confirm, methods=["GET", "POST"]),
            Route("/deconnecte", views.signed_out),
            Route("/logout", views.logout, methods=["POST"]),
        ],
    ),
]

__all__ = ["make_oauth", "routes"]
