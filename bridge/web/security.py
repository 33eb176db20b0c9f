"""Security headers on every response of the bridge."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def content_security_policy(form_targets: tuple[str, ...] = ()) -> str:
    """No inline script or style anywhere. Forms may post to us, and to Keycloak
    (`form_targets`): browsers apply form-action to the redirects that follow a post,
    such as logout handing over to Keycloak's end-session endpoint."""
    form_action = " ".join(("'self'", *form_targets))
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"font-src 'self'; connect-src 'self'; form-action {form_action}; base-uri 'none'; "
        "object-src 'none'; frame-ancestors 'none'"
    )


def security_headers(
    *, hsts: bool, form_targets: tuple[str, ...] = ()
) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-security-policy", content_security_policy(form_targets).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]
    if hsts:
        headers.append((b"strict-transport-security", b"max-age=31536000"))
    return headers


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, hsts: bool, form_targets: tuple[str, ...] = ()) -> None:
        self.app = app
        self.headers = security_headers(hsts=hsts, form_targets=form_targets)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [
                    header for header in self.headers if header[0] not in present
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class NoStoreMiddleware:
    """Every page of the bridge may hold personal data (a typed INE or address, a masked
    rescue address, the console's accounts): never kept by a browser or a proxy cache.
    `exempt`: path prefixes that stay cacheable (static files, probes)."""

    def __init__(self, app: ASGIApp, exempt: tuple[str, ...] = ()) -> None:
        self.app = app
        self.exempt = exempt

    def _exempt(self, path: str) -> bool:
        return any(path == prefix or path.startswith(prefix + "/") for prefix in self.exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._exempt(scope.get("path", "")):
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() not in (b"cache-control", b"pragma")
                ]
                no_store = [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]
                message["headers"] = [*headers, *no_store]
            await send(message)

        await self.app(scope, receive, send_no_store)


class RequestTooLarge(Exception):
    """A request body over the limit: answered 413 by the app's handler."""


class BodyLimitMiddleware:
    """Every form of the bridge fits in a few kilobytes; a bigger body is refused before it
    is held in memory (Starlette parses url-encoded forms whole)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lengths = [v for n, v in scope.get("headers", []) if n == b"content-length"]
        # Twenty digits or more is over any limit (and over int()'s digit limit at 4,300).
        declared = max(
            (int(v) if len(v) < 20 else self.max_bytes + 1 for v in lengths if v.isdigit()),
            default=0,
        )
        received = 0

        async def bounded_receive() -> Message:
            # Raised where the route reads its body: the app's handler answers 413 there.
            nonlocal received
            if declared > self.max_bytes:
                raise RequestTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise RequestTooLarge
            return message

        await self.app(scope, bounded_receive, send)
