"""The email theme: Keycloak's action mail, in French or English, stating the deadline and
how to start again on the path that sent it."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import time
from typing import Any

import pytest

from bridge.domain.deadlines import PARIS
from bridge.domain.ratelimits import Limits
from bridge.flows.action_links import LinkPolicy, LinkPurpose
from bridge.flows.counters import MemoryCounters
from bridge.gateway.keycloak.mapping import required_action_names


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


PATHS = {
    # (purpose, charter): what the mail says to do once the link has expired
    "activation": (LinkPurpose.ACTIVATION, False),
    "activation with the charter": (LinkPurpose.ACTIVATION, True),
    "staff console": (LinkPurpose.STAFF_ACTIVATION, False),
    "lost password": (LinkPurpose.LOST_PASSWORD, False),
}
RESTART = {
    "fr": {
        "activation": "reprenez la procédure depuis le début (étape 1)",
        "lost password": "refaites une demande de mot de passe perdu pour recevoir un nouveau lien",
    },
    "en": {
        "activation": "start the procedure again from step 1",
        "lost password": "make a new lost-password request to get a new link",
    },
}


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("path", sorted(PATHS))
def test_each_path_s_mail_says_how_to_start_again(
    stack: Any, admin: Any, make_user: Any, path: str, lang: str
) -> None:
    """Seed 000 step 3: past the deadline, activation starts again at step 1; a lost-password
    link is asked for again on its own page (seed 004), never "étape 1". The actions are
    the bridge's own for each purpose: the theme tells the paths apart by them."""
    purpose, charter = PATHS[path]
    student = make_user(password=None, attributes={"locale": [lang]})
    policy = LinkPolicy(Limits(), MemoryCounters(), "portal", stack.portal_redirect_uri, charter)
    response = admin.put(
        f"/users/{student['id']}/execute-actions-email",
        params={"lifespan": 3600, "client_id": "portal", "redirect_uri": stack.portal_redirect_uri},
        json=required_action_names(policy.actions(purpose)),
    )
    assert response.status_code == 204, response.text
    message = _wait_for_mail(stack, student["email"])
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content().replace("&#39;", "'")
    own = "lost password" if purpose is LinkPurpose.LOST_PASSWORD else "activation"
    other = "activation" if own == "lost password" else "lost password"
    for body in (text, html):
        assert RESTART[lang][own] in body, body
        assert RESTART[lang][other] not in body, body
    if purpose is LinkPurpose.LOST_PASSWORD:
        assert ("étape" if lang == "fr" else "step 1") not in text
        assert "(mot de passe perdu)" in text if lang == "fr" else "(lost password)" in text
    if charter:
        assert (
            "accepter la charte informatique" if lang == "fr" else "accept the IT charter"
        ) in text
