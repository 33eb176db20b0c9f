"""Probes for the load balancer and the orchestrator."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from bridge.domain.errors import ServiceUnavailable
from bridge.web.requests import counters_of, students_of


async def healthz(request: Request) -> JSONResponse:
    """Alive: the process answers. Says nothing of Keycloak."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Ready: Keycloak answers and grants the bridge its service-account token, and the
    limits' counters answer (without them no form that sends mail can work)."""
    for name, ping in (
        ("keycloak", students_of(request).ping),
        ("counters", counters_of(request).ping),
    ):
        try:
            await ping()
        except ServiceUnavailable as error:
            body = {"status": "unavailable", "reason": error.code, "component": name}
            return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "ready"})
