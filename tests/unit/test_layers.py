"""The package's shape, checked on its source: imports run web/jobs -> flows -> gateway ->
domain and never back, and Keycloak's client lives in the gateway only."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

BRIDGE = Path(__file__).resolve().parents[2] / "bridge"
WEB_FRAMEWORKS = ("starlette", "jinja2", "authlib", "uvicorn", "httpx", "httpx2", "multipart")
KEYCLOAK_CLIENTS = ("keycloak", "jwcrypto")


def modules(package: str) -> list[Path]:
    return sorted((BRIDGE / package).rglob("*.py"))


def imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def top(name: str) -> str:
    return name.split(".")[0]


# Which layers a layer may import, besides the standard library and itself.
ALLOWED = {
    "domain": {"bridge.domain"},
    "flows": {"bridge.domain", "bridge.gateway", "bridge.flows"},
    # The gateway is built from its settings (the SMTP relay's, say); settings read the
    # environment and import nothing but the domain and the catalogue's markers.
    "gateway": {"bridge.domain", "bridge.gateway", "bridge.settings"},
}


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_inner_layers_import_only_inwards(layer: str) -> None:
    wrong = [
        (path.relative_to(BRIDGE).as_posix(), name)
        for path in modules(layer)
        for name in imports(path)
        if name.startswith("bridge")
        and not any(name == a or name.startswith(a + ".") for a in ALLOWED[layer])
    ]
    assert wrong == []


@pytest.mark.parametrize("layer", ["domain", "flows"])
def test_domain_and_flows_know_no_framework_and_no_keycloak_client(layer: str) -> None:
    wrong = [
        (path.relative_to(BRIDGE).as_posix(), name)
        for path in modules(layer)
        for name in imports(path)
        if top(name) in WEB_FRAMEWORKS + KEYCLOAK_CLIENTS
    ]
    assert wrong == []


def test_only_the_gateway_speaks_to_keycloak() -> None:
    wrong = [
        (path.relative_to(BRIDGE).as_posix(), name)
        for path in sorted(BRIDGE.rglob("*.py"))
        if "gateway" not in path.relative_to(BRIDGE).parts
        for name in imports(path)
        if top(name) in KEYCLOAK_CLIENTS
    ]
    assert wrong == []


def test_the_gateway_knows_no_web_framework() -> None:
    wrong = [
        (path.relative_to(BRIDGE).as_posix(), name)
        for path in modules("gateway")
        for name in imports(path)
        if top(name) in WEB_FRAMEWORKS
    ]
    assert wrong == []


# Which gateway may write which field (issue 15): the web bridge and the console write only
# what their pages and actions change; the registrar's fields (the INE, the institutional
# address that the `email` claim carries with email_verified, the enrollment and validity)
# are the provisioning job's alone, so no page or console action can forge them.
WRITERS = {
    "students.py": {"rescue_email", "rescue_email_verified"},
    "staff.py": {"staff_action", "enabled", "rescue_email", "rescue_email_verified"},
}


@pytest.mark.parametrize("module", sorted(WRITERS))
def test_the_bridge_and_the_console_write_only_their_fields(module: str) -> None:
    path = BRIDGE / "gateway" / "keycloak" / module
    written: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "put" and isinstance(node.args[1], ast.Constant):
                written.add(str(node.args[1].value))
            if node.func.id == "changed_rescue_email":
                written |= {"rescue_email", "rescue_email_verified"}
    assert written <= WRITERS[module], written - WRITERS[module]
    assert not written & {"ine", "institutional_email", "valid_until", "last_enrollment_year"}
