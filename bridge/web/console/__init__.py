"""The staff console (F7): registrar and help-desk staff find a student and reset the
account, set the rescue email after an in-person check, send the activation mail, issue an
activation key (with a printable letter), re-enable an enrolled student.

Authority (SPEC "Staff console authority", docs/console.md): the console's own service
account, which Keycloak's fine-grained admin permissions confine to the members of
`students` (and never a member of `staff`); the staff member's token holds no admin right,
since Keycloak cannot stop the holder of one from editing any attribute of a student
(INE, institutional address, validity) outside the console. Each record names the staff
member. The console adds its own refusal of staff and administrator accounts on top.
"""

from __future__ import annotations

from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, Route

from bridge.web.console import auth, dashboard, views

_staff_views: list[BaseRoute] = [
    Route("/", views.search, name="console"),
    Route("/tableau-de-bord", dashboard.page),
    Route("/tableau-de-bord.csv", dashboard.csv_export),
    Route("/accounts/{user_id}", views.account),
    Route("/accounts/{user_id}/show-rescue-email", views.show_rescue_email, methods=["POST"]),
    Route("/accounts/{user_id}/actions/{action}", views.confirm),
    Route("/accounts/{user_id}/actions/{action}", views.perform, methods=["POST"]),
]
_staff_only = [Middleware(auth.StaffAuthentication)]

routes: list[BaseRoute] = [
    # A Mount does not answer its bare prefix: /console itself is the search page.
    Route("/console", views.search, middleware=_staff_only),
    Mount(
        "/console",
        routes=[
            Route("/login", auth.login),
            Route("/callback", auth.callback),
            Route("/logout", auth.logout, methods=["POST"]),
            Mount("", routes=_staff_views, middleware=_staff_only),
        ],
    ),
]
