"""The email theme: Keycloak's action mail, in French, stating the deadline."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import time
from typing import Any

from bridge.domain.deadlines import PARIS


def _wait_for_mail(stack: Any, recipient: str, timeout: float = 30) -> email.message.EmailMessage:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in stack.mails():
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if recipient in str(message["To"]):
                assert isinstance(message, email.message.EmailMessage)
                return message
        time.sleep(0.2)
    raise AssertionError(f"no mail for {recipient}")


def test_action_mail_is_french_and_states_the_deadline(
    stack: Any, admin: Any, make_user: Any
) -> None:
    student = make_user(password=None)
    lifespan = 2 * 3600
    sent_at = dt.datetime.now(PARIS)
    response = admin.put(
        f"/users/{student['id']}/execute-actions-email",
        params={
            "lifespan": lifespan,
            "client_id": "portal",
            "redirect_uri": stack.portal_redirect_uri,
        },
        json=["UPDATE_PASSWORD"],
    )
    assert response.status_code == 204, response.text
    message = _wait_for_mail(stack, student["email"])
    assert message["Subject"] == "Votre compte informatique : lien pour choisir votre mot de passe"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    match = re.search(
        r"valable jusqu'à (\d\d)h(\d\d) \(heure de Paris\) le (\d\d/\d\d/\d{4})", text
    )
    assert match, text
    expected = sent_at + dt.timedelta(seconds=lifespan)
    stated = dt.datetime.strptime(
        f"{match.group(3)} {match.group(1)}:{match.group(2)}", "%d/%m/%Y %H:%M"
    ).replace(tzinfo=PARIS)
    assert abs((stated - expected).total_seconds()) <= 120
    assert "choisir votre mot de passe" in text
    assert "reprenez la procédure depuis le début" in text
    assert "/realms/um/login-actions/action-token?key=" in text
    assert "valable jusqu&#39;à" in html or "valable jusqu'à" in html
