"""The public side of Keycloak (docs/security.md, "The public proxy"): Debian's nginx with
the repository's deploy/nginx/keycloak-proxy.conf and keycloak-public.conf, unchanged, in
front of the session's Keycloak (HTTPS in the production-mode stage). The realm `um` passes;
the admin console and API, the master realm, the probes and every path trick that could
spell them are refused by nginx itself, with a valid administrator's credentials in hand
(so that the refusal is nginx's, not Keycloak's 401)."""

from __future__ import annotations

import http.client
import re
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from devstack.keycloak import TRUSTED_PROXY
from devstack.ports import free_ports
from tests.helpers.browserless import browser, login_form_action
from tests.helpers.processes import nginx_public_keycloak
from tests.helpers.report import report
from tests.integration.test_keycloak_proxy import FORGED, login_error_addresses

pytestmark = pytest.mark.core


@pytest.fixture(scope="module")
def public(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The public proxy's URL (plain HTTP on loopback: TLS is the deployment's)."""
    with nginx_public_keycloak(
        tmp_path_factory.mktemp("nginx-keycloak"), free_ports(2), stack.keycloak
    ) as url:
        yield url


def raw_get(base: str, target: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """GET `target` written exactly as given on the request line (httpx would normalise
    `..`, `//` and percent-escapes before sending)."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        connection.putrequest("GET", target, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        connection.close()


def refused_by_nginx(status: int, body: str) -> bool:
    """nginx's own error page: a 404 from the allow-list, or a 400 for a path that climbs
    above the root once decoded. Keycloak answers its 400s, 401s and 404s in JSON, never
    with this page."""
    return status in (400, 404) and "<center>nginx" in body and "{" not in body


def auth_query(stack: Any) -> str:
    return urlencode(
        {
            "client_id": "portal",
            "response_type": "code",
            "scope": "openid",
            "redirect_uri": stack.portal_redirect_uri,
            "code_challenge": create_s256_code_challenge(secrets.token_urlsafe(48)),
            "code_challenge_method": "S256",
        }
    )


def test_the_realm_um_passes_through(stack: Any, public: str) -> None:
    with httpx.Client(base_url=public, timeout=30) as client:
        discovery = client.get("/realms/um/.well-known/openid-configuration")
        assert discovery.status_code == 200, discovery.text
        assert discovery.json()["issuer"].endswith("/realms/um")
        metadata = client.get("/.well-known/oauth-authorization-server/realms/um")
        assert metadata.status_code == 200
        assert metadata.json()["issuer"] == discovery.json()["issuer"]
        assert client.get("/realms/um/protocol/openid-connect/certs").json()["keys"]

        login = client.get(f"/realms/um/protocol/openid-connect/auth?{auth_query(stack)}")
        assert login.status_code == 200, login.text[-500:]
        assert 'id="kc-form-login"' in login.text
        # The theme's stylesheet, as the page names it (a path on Keycloak's origin).
        stylesheet = re.search(r'href="[^"]*?(/resources/[^"]+/um\.css)"', login.text)
        assert stylesheet, "the login page names the theme's stylesheet"
        css = client.get(stylesheet.group(1))
        assert css.status_code == 200 and "text/css" in css.headers["content-type"]

        # A POST passes too: the bridge's service account gets a token from the realm.
        token = client.post(
            "/realms/um/protocol/openid-connect/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "bridge",
                "client_secret": stack.secrets["UM_BRIDGE_CLIENT_SECRET"],
            },
        )
        assert token.status_code == 200, token.text
        assert token.json()["access_token"]


# Paths of the admin side, which Keycloak serves directly (the consoles' pages, the API to
# the administrator's bearer token sent below): through the public proxy, nginx's 404.
ADMIN_PATHS = (
    "/admin",
    "/admin/",
    "/admin/master/console/",
    "/admin/um/console/",
    "/admin/realms/um/users",
    "/admin/realms/master/users",
    "/admin/serverinfo",
)


def test_the_admin_side_is_refused_by_nginx(stack: Any, public: str) -> None:
    token = stack.keycloak.admin_token()
    bearer = {"Authorization": f"Bearer {token}"}
    with httpx.Client(timeout=30, verify=stack.keycloak.verify) as client:
        # The same token and password straight to Keycloak: valid.
        direct = client.get(f"{stack.url}/admin/realms/um/users", params={"max": 1}, headers=bearer)
        assert direct.status_code == 200, direct.text
        for path in ADMIN_PATHS:
            answer = client.get(f"{public}{path}", headers=bearer)
            assert answer.status_code == 404, (path, answer.status_code)
            assert refused_by_nginx(answer.status_code, answer.text), path

        credentials = {
            "grant_type": "password",
            "client_id": "admin-cli",
            "username": stack.keycloak.admin_user,
            "password": stack.keycloak.admin_password,
        }
        master = "/realms/master/protocol/openid-connect/token"
        assert client.post(f"{stack.url}{master}", data=credentials).status_code == 200
        answer = client.post(f"{public}{master}", data=credentials)
        assert answer.status_code == 404
        assert refused_by_nginx(answer.status_code, answer.text)
        assert "access_token" not in answer.text

        for path in (
            "/",
            "/realms/master/",
            "/realms/master/account/",
            "/realms/master/.well-known/openid-configuration",
            "/.well-known/oauth-authorization-server/realms/master",
            "/metrics",
            "/health",
            "/health/ready",
            "/js/keycloak.js",
        ):
            answer = client.get(f"{public}{path}")
            assert answer.status_code == 404, (path, answer.status_code)
            assert refused_by_nginx(answer.status_code, answer.text), path
        registration = client.post(
            f"{public}/realms/um/clients-registrations/openid-connect",
            json={"redirect_uris": ["https://attacker.example/callback"]},
        )
        assert registration.status_code == 404
        assert refused_by_nginx(registration.status_code, registration.text)


# Spellings of the admin API, of the master realm and of the probes that a proxy matching
# raw paths, or a proxy and a server normalising differently, could let through.
TRICKS = (
    "//admin/realms/um/users",
    "///admin/realms/um/users",
    "/Admin/realms/um/users",
    "/ADMIN/realms/um/users",
    "/%61dmin/realms/um/users",
    "/%2561dmin/realms/um/users",
    "/./admin/realms/um/users",
    "/realms/um/../../admin/realms/um/users",
    "/realms/um//../../admin/realms/um/users",
    "/realms/um/%2e%2e/%2e%2e/admin/realms/um/users",
    "/realms/um/.%2e/.%2e/admin/realms/um/users",
    "/realms/um/%252e%252e/%252e%252e/admin/realms/um/users",
    "/realms/um/..%2f..%2fadmin/realms/um/users",
    "/realms/um/..%2F..%2Fadmin/realms/um/users",
    "/realms/um%2f..%2f..%2fadmin/realms/um/users",
    "/realms/um/..;/..;/admin/realms/um/users",
    "/realms/um/%2e%2e%3b/%2e%2e%3b/admin/realms/um/users",
    "/realms/um;/../../admin/realms/um/users",
    "/realms/um/..\\..\\admin/realms/um/users",
    "/realms/um/%5c..%5c..%5cadmin/realms/um/users",
    "/resources/../admin/realms/um/users",
    "/resources/..%2f..%2fadmin/realms/um/users",
    "/admin/realms/um/users?/realms/um/",
    "http://localhost/admin/realms/um/users",
    "/realms/um/../master/protocol/openid-connect/certs",
    "/realms/%6d%61%73%74%65%72/protocol/openid-connect/certs",
    "/realms/Master/protocol/openid-connect/certs",
    "/realms/UM/../master/protocol/openid-connect/certs",
    "/realms/um/../../metrics",
    "/realms/um/%2e%2e/%2e%2e/health/ready",
)


def test_path_tricks_are_refused_by_nginx(stack: Any, public: str) -> None:
    bearer = {"Authorization": f"Bearer {stack.keycloak.admin_token()}"}
    answers = {target: raw_get(public, target, bearer) for target in TRICKS}
    passed = {
        target: (status, body[:200])
        for target, (status, body) in answers.items()
        if not refused_by_nginx(status, body)
    }
    report(
        f"public proxy: {len(TRICKS) - len(passed)} of {len(TRICKS)} path tricks refused by nginx"
    )
    assert not passed
    # A NUL is not even a path: nginx's 400, before any location.
    status, body = raw_get(public, "/realms/um/%00/../../admin/realms/um/users", bearer)
    assert status == 400 and "<center>nginx" in body
    # And the realm's own paths, spelled oddly, are still the realm's (normalised first).
    status, body = raw_get(public, "/realms/um/./protocol//openid-connect/certs")
    assert status == 200 and '"keys"' in body


def test_keycloak_records_the_address_the_proxy_saw(
    stack: Any, public: str, make_user: Any, admin: httpx.Client
) -> None:
    """A wrong password through the proxy, with a forged X-Forwarded-For: Keycloak (which
    trusts the proxy's address) records the client's real address, because the proxy
    replaces the header. Appending, as for the bridge, would not do: from its trusted proxy
    Keycloak believes the left-most address of a list, the one a client writes."""
    through_proxy, appended = make_user(), make_user()
    client_address = "127.0.0.3"
    with browser(local_address=client_address) as client:
        client.headers["X-Forwarded-For"] = FORGED
        page = client.get(f"{public}/realms/um/protocol/openid-connect/auth?{auth_query(stack)}")
        assert page.status_code == 200
        # In production mode the form names Keycloak's fixed hostname: post it through the
        # proxy all the same (the deployment's hostname is the proxy's).
        action = urlsplit(login_form_action(page.text))
        answer = client.post(
            f"{public}{action.path}?{action.query}",
            data={"username": through_proxy["username"], "password": "not-the-password-1"},
        )
    assert answer.status_code == 200  # the form again, with its error
    assert login_error_addresses(admin, through_proxy["id"]) == [client_address]

    with browser(local_address=TRUSTED_PROXY) as client:
        client.headers["X-Forwarded-For"] = f"{FORGED}, {client_address}"
        page = client.get(f"{stack.realm_url}/protocol/openid-connect/auth?{auth_query(stack)}")
        client.post(
            login_form_action(page.text),
            data={"username": appended["username"], "password": "not-the-password-1"},
        )
    assert login_error_addresses(admin, appended["id"]) == [FORGED]
