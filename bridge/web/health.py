"""Probes for the load balancer and the orchestrator."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from bridge.domain.errors import ServiceUnavailable
from bridge.web.requests import students_of


async def healthz(request: Request) -> JSONResponse:
    """Alive: the process answers. Says nothing of Keycloak."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Ready: Keycloak answers and grants the bridge its service-account token."""
    try:
        await students_of(request).ping()
    except ServiceUnavailable as error:
        return JSONResponse({"status": "unavailable", "reason": error.code}, status_code=503)
    return JSONResponse({"status": "ready"})
