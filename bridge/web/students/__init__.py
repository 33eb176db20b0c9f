"""The student pages: home, help, activation (F1), lost password (F3), forgotten identifier."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from bridge.web import challenge
from bridge.web.students import activation, identifier_recovery, lost_password, pages

routes: list[BaseRoute] = [
    Route("/", pages.home, name="home"),
    Route("/help", pages.help_page, name="help"),
    Route("/activation", activation.identifier, methods=["GET", "POST"], name="activation"),
    Route("/activation/mail-sent", activation.mail_sent),
    Route("/activation/resend", activation.resend, methods=["POST"]),
    Route("/activation/ine", activation.ine, methods=["GET", "POST"]),
    Route("/activation/rescue-email", activation.rescue_email, methods=["GET", "POST"]),
    Route("/lost-password", lost_password.lost_password, methods=["GET", "POST"]),
    Route("/lost-password/mail-sent", lost_password.mail_sent),
    Route(
        "/forgot-identifier",
        identifier_recovery.forgot_identifier,
        methods=["GET", "POST"],
        name="forgot_identifier",
    ),
    Route("/forgot-identifier/mail-sent", identifier_recovery.mail_sent),
    # The proof of work's challenge, for the forms' widget past the threshold.
    Route("/challenge", challenge.challenge),
]
