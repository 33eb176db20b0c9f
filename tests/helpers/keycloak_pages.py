"""Browser-less walks through Keycloak's pages: a mailed link, the required actions met
during a login, a sign-in to the example portal."""

from __future__ import annotations

import html
import re
from urllib.parse import urljoin

import httpx

from tests.helpers.browserless import browser, submit_login

NEW_PASSWORD = "Nouveau-mdp-26"


def use_link(
    link: str, password: str = NEW_PASSWORD, new_email: str | None = None
) -> httpx.Response:
    """Open the mailed link as a browser would: the link page, its "continue" link, the
    new-password form. Returns Keycloak's last answer."""
    with browser() as client:
        return use_link_in(client, link, password, new_email)


def use_link_in(
    client: httpx.Client, link: str, password: str, new_email: str | None = None
) -> httpx.Response:
    """use_link() in the given browser, which keeps its cookies afterwards."""
    page = client.get(link)
    if page.status_code != 200:
        return page
    proceed = re.search(r'href="([^"]*login-actions/action-token[^"]*)"', page.text)
    if not proceed:
        return page  # an error page: expired, already used
    answer = client.get(html.unescape(proceed.group(1)))
    # Then Keycloak's required-action pages, in its order: the charter, the password.
    for _ in range(5):
        if answer.status_code in (302, 303):
            answer = client.get(answer.headers["Location"])
            continue
        form = re.search(r'<form (?:[^>]*?id="([a-z-]+)")?[^>]*action="([^"]+)"', answer.text)
        if not form:
            return answer
        if form.group(1) == "kc-passwd-update-form":
            data = {"password-new": password, "password-confirm": password}
        elif "TERMS_AND_CONDITIONS" in form.group(2):
            data = {"accept": ""}
        elif "UPDATE_EMAIL" in form.group(2):
            current = re.search(r'<input[^>]*name="email"[^>]*value="([^"]*)"', answer.text)
            data = {"email": new_email or html.unescape(current.group(1) if current else "")}
        else:
            return answer
        answer = client.post(html.unescape(form.group(2)), data=data)
    return answer


def required_actions(
    client: httpx.Client, answer: httpx.Response, password: str, new_email: str | None = None
) -> httpx.Response:
    """Answer Keycloak's required-action pages met during a login (an activation key)."""
    for _ in range(5):
        if answer.status_code in (302, 303):
            location = answer.headers["Location"]
            if "/realms/" not in location:
                return answer  # back to the application
            answer = client.get(location)
            continue
        form = re.search(r'<form (?:[^>]*?id="([a-z-]+)")?[^>]*action="([^"]+)"', answer.text)
        if not form:
            return answer
        action = html.unescape(form.group(2))
        if "UPDATE_PASSWORD" in action:
            data = {"password-new": password, "password-confirm": password}
        elif "UPDATE_EMAIL" in action:
            current = re.search(r'<input[^>]*name="email"[^>]*value="([^"]*)"', answer.text)
            data = {"email": new_email or html.unescape(current.group(1) if current else "")}
        else:
            return answer
        answer = client.post(action, data=data)
    return answer


def portal_sign_in(
    client: httpx.Client, bridge_url: str, username: str, password: str
) -> httpx.Response:
    """Sign in to the example portal through Keycloak's form; returns the portal page
    (or Keycloak's answer if it did not send the browser back)."""
    start = client.get(f"{bridge_url}/portal/login")
    answer = submit_login(client, client.get(start.headers["Location"]), username, password)
    if answer.status_code != 302:
        return answer
    if "/realms/" in answer.headers["Location"]:
        return client.get(answer.headers["Location"])  # a required action comes first
    callback = client.get(answer.headers["Location"])
    return client.get(urljoin(bridge_url, callback.headers["Location"]))


def signs_in(bridge_url: str, username: str, password: str) -> bool:
    with browser() as client:
        page = portal_sign_in(client, bridge_url, username, password)
    return f'id="um-portal-username">{username}<' in page.text
